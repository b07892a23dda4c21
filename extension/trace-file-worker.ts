// The worker thread that reads a trace file for the extension (the loader, trace-file-loader.ts, starts
// it): the file is untrusted, so sniffing, parsing and re-chunking all happen here, streaming, under the
// reader's limits; the extension host's thread only takes finished chunks, a few at a time.

import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeChunk, SNIFF_BYTES, sniffTraceFile, type TraceRecord } from '../protocol';
import { CAP_TAIL_BYTES, cappedNote } from './chrome-cap-note';
import type { LoaderMessage, LoadJob, WorkerMessage } from './trace-file-messages';
import { describeChunk } from './trace-store';

const port = parentPort;
if (!port) throw new Error('trace-file-worker.ts runs as a worker thread');
const job = workerData as LoadJob;

const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

let credit = job.chunksInFlight;
let wake: (() => void) | null = null;
port.on('message', (m: LoaderMessage) => {
  if (m.type !== 'ack') return;
  credit++;
  wake?.();
  wake = null;
});

let pending: TraceRecord[] = [];

async function sendChunks(all: boolean): Promise<void> {
  while (pending.length >= job.recordsPerChunk || (all && pending.length > 0)) {
    const part = pending.length > job.recordsPerChunk ? pending.slice(0, job.recordsPerChunk) : pending;
    pending = pending.length > job.recordsPerChunk ? pending.slice(job.recordsPerChunk) : [];
    while (credit <= 0) await new Promise<void>((r) => (wake = r));
    credit--;
    const bytes = encodeChunk(part);
    post({ type: 'chunk', bytes, described: describeChunk(part) }, [bytes.buffer as ArrayBuffer]);
  }
}

function keep(records: TraceRecord[]): void {
  for (const r of records) pending.push(r);
}

async function load(): Promise<WorkerMessage> {
  let fh;
  try {
    fh = await open(job.path, 'r');
  } catch (err) {
    return { type: 'failed', message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  try {
    const size = (await fh.stat()).size;
    const headBuf = new Uint8Array(Math.min(size, SNIFF_BYTES));
    const head = headBuf.subarray(0, (await fh.read(headBuf, 0, headBuf.length, 0)).bytesRead);
    const sniffed = sniffTraceFile(head, size);
    if (!sniffed.format?.reader) return { type: 'failed', message: sniffed.problem ?? `${sniffed.format?.name} files cannot be read` };
    post({ type: 'format', format: sniffed.format.name, size });
    const reader = sniffed.format.reader(job.limits);
    const buf = new Uint8Array(job.pieceBytes);
    let damage: string | null = null;
    for (let pos = 0; pos < size && !damage; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const step = reader.push(buf.subarray(0, bytesRead));
      keep(step.records);
      if (step.error) damage = step.error.message;
      await sendChunks(false);
      post({ type: 'progress', loaded: pos });
    }
    if (!damage) {
      const end = reader.finish();
      keep(end.records);
      if (end.error) damage = end.error.message;
    }
    await sendChunks(true);
    const notes = [...reader.notes];
    // A capped Chrome JSON says in its otherData what it left out; the reader passes that member over.
    if (sniffed.format.name === 'chrome') {
      const tail = new Uint8Array(Math.min(size, CAP_TAIL_BYTES));
      const { bytesRead } = await fh.read(tail, 0, tail.length, size - tail.length);
      const note = cappedNote(new TextDecoder().decode(tail.subarray(0, bytesRead)));
      if (note) notes.push(note);
    }
    return { type: 'done', damage, skipped: reader.skipped.summary(), notes };
  } finally {
    await fh.close();
  }
}

load().then(post, (err: Error) => post({ type: 'failed', message: err.message }));
