// `npm run bench:extension -- [--calls N] [--json]`: how the extension host loads a large .lstrace into its
// store for the custom editor (read in pieces, decoded, re-chunked), and the longest stretch it held the
// event loop meanwhile (what would freeze VS Code's extension host). Also the Chrome JSON export of it.

import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CallRecord, TraceRecord } from '../../protocol';
import { LSTRACE } from '../../extension/record-codec';
import { TraceStore } from '../../extension/trace-store';
import { loadTraceFile } from '../../extension/trace-file-loader';
import { writeExport } from '../../extension/trace-export';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('--calls', 1_000_000);

function call(seq: number): CallRecord {
  const at = 1_000_000 + seq * 20_000;
  const path = seq % 2 ? 'delegated' : 'emulated';
  const stages: CallRecord['stages'] = path === 'delegated'
    ? ['guest', 'channel-out', 'host-queue', 'execute', 'reply-out', 'channel-in', 'guest-return'].map((name, i) => ({ name: name as CallRecord['stages'][number]['name'], start: at + i * 1000, end: at + (i + 1) * 1000 }))
    : [{ name: 'kernel', start: at, end: at + 9000 }];
  return { kind: 'call', seq, run: 'bench', guest: path === 'delegated' ? 'guest-a' : 'guest-b', path, socket: 3 + (seq % 4), op: 'send', bytes: 65536, result: 'ok', stages };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-ext-'));
  try {
    const file = join(dir, 'big.lstrace');
    const out = createWriteStream(file);
    out.write(LSTRACE.encodeFileHeader());
    for (let i = 0; i < N; i += 4096) {
      const part: TraceRecord[] = [];
      for (let j = i; j < Math.min(N, i + 4096); j++) part.push(call(j));
      if (!out.write(LSTRACE.encodeChunk(part))) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));

    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const store = new TraceStore(N);
    const t0 = performance.now();
    const r = await loadTraceFile(file, store);
    const loadMs = performance.now() - t0;
    lag.disable();
    const loadLagMs = lag.max / 1e6;

    const lag2 = monitorEventLoopDelay({ resolution: 5 });
    lag2.enable();
    const json = join(dir, 'big.linsock.json');
    const jout = createWriteStream(json);
    const t1 = performance.now();
    await writeExport('chrome', [...store.since(0)], LSTRACE, { write: (p) => new Promise<void>((res) => (jout.write(p) ? res() : jout.once('drain', () => res()))) });
    await new Promise<void>((res) => jout.end(() => res()));
    const exportMs = performance.now() - t1;
    lag2.disable();

    const result = {
      calls: r.records, file_mb: +(statSync(file).size / 2 ** 20).toFixed(1), load_ms: Math.round(loadMs), load_max_stall_ms: +loadLagMs.toFixed(1),
      chrome_export_ms: Math.round(exportMs), chrome_export_max_stall_ms: +(lag2.max / 1e6).toFixed(1), chrome_mb: +(statSync(json).size / 2 ** 20).toFixed(1),
      store_mb: +(store.totals.bytes / 2 ** 20).toFixed(1),
    };
    console.log(process.argv.includes('--json') ? JSON.stringify(result) : result);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
