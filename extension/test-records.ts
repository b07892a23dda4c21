// Records for the extension's unit tests: valid per protocol/trace.ts (invalidRecord is asserted on them).

import type { CallRecord, FrameRecord, Path, RunInfo } from '../protocol';

export function call(seq: number, path: Path = 'delegated', at = 1_000_000 + seq * 10_000): CallRecord {
  return {
    kind: 'call', seq, run: 'r1', guest: path === 'emulated' ? 'guest-b' : 'guest-a', path, socket: 3, op: 'send', bytes: 65536, result: 'ok',
    stages: path === 'delegated'
      ? [{ name: 'guest', start: at, end: at + 1000 }, { name: 'channel-out', start: at + 1000, end: at + 3000 }, { name: 'execute', start: at + 3000, end: at + 5000 }]
      : [{ name: 'kernel', start: at, end: at + 4000 }],
  };
}

export function frame(seq: number): FrameRecord {
  return { kind: 'frame', seq, run: 'r1', guest: 'guest-b', direction: 'guest-to-host', length: 1514, payload: 1448, flow: null, tIn: 5_000_000 + seq, tOut: 5_001_000 + seq };
}

export function runInfo(id = 'r1'): RunInfo {
  return {
    kind: 'run', id, workload: 'stream', paths: ['delegated', 'emulated'], params: { seconds: 1 },
    host: { kernel: '6.1', cpu: 'test', cpus: 2, mtu: 1500, mode: 'e1000', offloads: [] }, startedNs: 1, clockErrorNs: {},
  };
}
