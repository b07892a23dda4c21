// The pipe between a workload process and the bench runner that carries the workload's own call records
// (direct and emulated paths): frames of [u8 kind][u32 length][payload], kind 1 an .lstrace chunk of call
// records, kind 2 one JSON SocketFlow (which addresses a socket number stands for, to link frames).

import type { Readable } from 'node:stream';
import { decodeChunk, type CallRecord } from '../../../protocol';

export const CALL_LOG_FD = 3;
export const KIND_CHUNK = 1;
export const KIND_FLOW = 2;
/** At most this many calls are recorded per path and run: a 10 s stream would otherwise flood memory. */
export const MAX_RECORDED_CALLS = 200_000;
/** A frame longer than this is corrupt: the runner stops reading the log (chunks hold 4,096 records). */
const MAX_FRAME = 16 * 1024 * 1024;

export interface SocketFlow {
  socket: number;
  protocol: 'tcp' | 'udp';
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
}

export function frameOf(kind: number, payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = kind;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Reads a call log; calls `onCalls` per chunk and `onFlow` per socket; resolves at its end or first error. */
export function readCallLog(input: Readable, onCalls: (calls: CallRecord[]) => void, onFlow: (f: SocketFlow) => void): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      input.removeAllListeners('data');
      input.resume();
      reject(new Error(`the workload's call log is corrupt: ${why}`));
    };
    input.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (len > MAX_FRAME) return fail(`a frame of ${len} bytes`);
        if (buf.length < 5 + len) break;
        const kind = buf[0];
        const payload = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        if (kind === KIND_CHUNK) {
          const { records, error } = decodeChunk(payload);
          if (error) return fail(error.message);
          onCalls(records.filter((r): r is CallRecord => r.kind === 'call'));
        } else if (kind === KIND_FLOW) {
          try {
            onFlow(JSON.parse(payload.toString('utf8')) as SocketFlow);
          } catch {
            return fail('a socket flow that is not JSON');
          }
        } else return fail(`frame kind ${String(kind)}`);
      }
    });
    input.once('end', () => (buf.length ? reject(new Error(`the workload's call log ended inside a frame (${buf.length} bytes left)`)) : resolve()));
    input.once('error', reject);
  });
}
