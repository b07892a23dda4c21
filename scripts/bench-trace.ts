// `npm run bench:trace [-- --calls N --runs R --json]`: the trace pipeline's figures, medians of R runs.
//  - stream: records/s from TraceHub.publish (of records built beforehand) in a daemon-side process, through the WebSocket trace server,
//    to one subscriber in this process on loopback that checks and counts every chunk (target >= 1,000,000/s);
//  - file: the size of a 1,000,000-call .lstrace (target <= 64 MB) and the time to read it back into
//    records with LstraceReader in 1 MiB pieces, file read included (target <= 1.5 s).
// The daemon side runs as a child process (this script with --daemon) so the two sides use both cores
// as linsockd and a viewer would.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { LstraceReader, encodeFile, visitChunk, visitLstrace, type TraceRecord } from '../protocol';
import { TraceHub } from '../daemon/trace/trace-hub';
import { startTraceServer } from '../daemon/trace/trace-server';
import { syntheticCalls } from '../test/fixtures/synthetic';
import { median } from './measure';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

/** The daemon side: a hub and a trace server; "blast N" publishes N records as fast as producers could. */
async function daemonSide(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-'));
  const hub = new TraceHub();
  const server = await startTraceServer({ port: 0, tokenFile: join(dir, 'token'), hub });
  // A pool of realistic records, shallow-copied on publish (the hub owns and numbers what it gets).
  const pool = syntheticCalls(20_000, { seed: 5 });
  console.log(JSON.stringify({ url: server.url, token: readFileSync(join(dir, 'token'), 'utf8').trim() }));
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, n] = line.split(' ');
    if (cmd !== 'blast') break;
    // Producers build their records before publishing; that cost is theirs, so it stays out of the timing.
    const copies = Array.from({ length: Number(n) }, (_, k) => ({ ...(pool[k % pool.length] as TraceRecord) }));
    const rssBefore = process.memoryUsage.rss();
    console.log(JSON.stringify({ ready: true }));
    let i = 0;
    const t0 = process.hrtime.bigint();
    while (i < copies.length) {
      for (let k = 0; k < 8192 && i < copies.length; k++) hub.publish(copies[i++] as TraceRecord);
      await new Promise((r) => setImmediate(r));
    }
    hub.flush();
    const s = hub.stats();
    console.log(JSON.stringify({ publishS: Number(process.hrtime.bigint() - t0) / 1e9, drops: s.drops, rss: process.memoryUsage.rss() - rssBefore }));
  }
  await server.close();
  hub.close();
  rmSync(dir, { recursive: true, force: true });
}

async function streamBench(records: number, runs: number): Promise<{ perSec: number[]; drops: number[]; rss: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--daemon'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => JSON.parse((await lines.next()).value as string) as T;
  const { url, token } = await next<{ url: string; token: string }>();
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let received = 0;
  let dropped = 0;
  let onProgress: () => void = () => undefined;
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const err = visitChunk(new Uint8Array(data as Buffer), {
      call: () => void received++,
      frame: () => void received++,
      dropped: (d) => void (dropped += d.count),
    });
    if (err) throw err;
    onProgress();
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, filter: {}, history: false }));
  await new Promise((r) => setTimeout(r, 100));
  const perSec: number[] = [];
  const drops: number[] = [];
  let rss = 0;
  for (let run = 0; run < runs; run++) {
    received = 0;
    dropped = 0;
    child.stdin.write(`blast ${records}\n`);
    await next<{ ready: boolean }>();
    const t0 = process.hrtime.bigint();
    const done = next<{ drops: number; rss: number }>();
    await new Promise<void>((resolve) => {
      onProgress = () => {
        if (received + dropped >= records) resolve();
      };
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const d = await done;
    rss = Math.max(rss, d.rss);
    perSec.push(received / secs);
    drops.push(dropped);
  }
  ws.close();
  child.stdin.end();
  await new Promise((r) => child.once('exit', r));
  return { perSec, drops, rss };
}

function fileBench(calls: number, runs: number): { bytes: number; readS: number[]; visitS: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-'));
  const file = join(dir, 'trace.lstrace');
  // Delegated calls only: 7 stages each, the largest records the daemon writes.
  // The records are not kept: a reader holds only what it reads, and a million live records beside it
  // would make every garbage collection of the read mark them all.
  writeFileSync(file, encodeFile(syntheticCalls(calls, { seed: 9, paths: ['delegated'] })));
  const bytes = statSync(file).size;
  const readS: number[] = [];
  const visitS: number[] = [];
  for (let run = 0; run < runs; run++) {
    // The viewer's way: one read, a flyweight view per call, no record objects.
    const v0 = process.hrtime.bigint();
    let seen = 0;
    const err = visitLstrace(new Uint8Array(readFileSync(file)), { call: () => void seen++ });
    if (err || seen !== calls) throw err ?? new Error(`visited ${seen} calls`);
    visitS.push(Number(process.hrtime.bigint() - v0) / 1e9);
    const t0 = process.hrtime.bigint();
    const reader = new LstraceReader();
    const piece = Buffer.alloc(1 << 20);
    const fd = openSync(file, 'r');
    let n = 0;
    for (;;) {
      const got = readSync(fd, piece, 0, piece.length, null);
      if (got === 0) break;
      const { records: batch, error } = reader.push(new Uint8Array(piece.buffer, piece.byteOffset, got));
      if (error) throw error;
      n += batch.length;
    }
    closeSync(fd);
    const end = reader.end();
    if (end) throw end;
    readS.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (n !== calls) throw new Error(`read ${n} records, wrote ${calls}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return { bytes, readS, visitS };
}

async function main(): Promise<void> {
  if (args.includes('--daemon')) return daemonSide();
  const calls = opt('--calls', 1_000_000);
  const runs = opt('--runs', 3);
  const stream = await streamBench(calls, runs);
  const file = fileBench(calls, runs);
  const report = {
    stream_records_per_s: Math.round(median(stream.perSec)),
    stream_records_per_s_runs: stream.perSec.map(Math.round),
    stream_dropped_runs: stream.drops,
    daemon_rss_growth_mb: Math.round(stream.rss / 2 ** 20),
    file_calls: calls,
    file_mb: +(file.bytes / 2 ** 20).toFixed(2),
    file_bytes_per_call: +(file.bytes / calls).toFixed(1),
    file_read_s: +median(file.readS).toFixed(3),
    file_read_s_runs: file.readS.map((s) => +s.toFixed(3)),
    file_visit_s: +median(file.visitS).toFixed(3),
  };
  if (args.includes('--json')) console.log(JSON.stringify(report));
  else {
    console.log(`stream to one subscriber: ${report.stream_records_per_s.toLocaleString('en')} records/s (median of ${runs}; runs ${report.stream_records_per_s_runs.join(', ')}; dropped ${report.stream_dropped_runs.join(', ')}) target >= 1,000,000`);
    console.log(`daemon-side rss growth while streaming (records prepared beforehand): ${report.daemon_rss_growth_mb} MB`);
    console.log(`${calls.toLocaleString('en')}-call .lstrace: ${report.file_mb} MB (${report.file_bytes_per_call} B/call) target <= 64 MB`);
    console.log(`read back into records: ${report.file_read_s} s (median; runs ${report.file_read_s_runs.join(', ')}) target <= 1.5 s`);
    console.log(`read with the flyweight visitor (no objects, as the viewer reads): ${report.file_visit_s} s (median)`);
  }
}

void main();
