// Loads a trace file into a TraceStore for the custom editor: .lstrace read in pieces through the
// streaming reader, or Chrome JSON that Linsock exported. Yields to the event loop between pieces so a
// large file never holds the extension host, reports progress, and keeps every whole record before damage.

import { open } from 'node:fs/promises';
import type { TraceRecord } from '../protocol';
import { readChromeTrace } from '../protocol/chrome-trace-reader';
import { isLstrace } from '../protocol/lstrace-decode';
import { CHUNK_HEADER_BYTES, CHUNK_MAGIC, FILE_HEADER_BYTES, MAX_CHUNK_BODY } from '../protocol/lstrace-format';
import type { ChunkContent, RecordCodec } from './record-codec';
import type { TraceStore } from './trace-store';

export interface LoadOptions {
  progress?: (loadedBytes: number, totalBytes: number) => void;
  cancelled?: () => boolean;
  /** Bytes read per step. */
  pieceBytes?: number;
  /** Records per chunk handed to the store (and so to the viewer). */
  recordsPerChunk?: number;
}

export interface LoadResult {
  format: 'lstrace' | 'chrome';
  records: number;
  bytes: number;
  /** What was wrong with the file, when something was; the records before it were kept. */
  damage: string | null;
  cancelled: boolean;
}

/** Chrome JSON is parsed whole (JSON.parse); past this it would not fit in one string. */
export const MAX_JSON_BYTES = 400 * 1024 * 1024;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export async function loadTraceFile(path: string, store: TraceStore, codec: RecordCodec, opts: LoadOptions = {}): Promise<LoadResult> {
  // 256 KiB holds about 10,000 calls: decoding and re-chunking them takes tens of ms, a pause nobody sees.
  const pieceBytes = opts.pieceBytes ?? 256 * 1024;
  const perChunk = opts.recordsPerChunk ?? 4096;
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(Math.min(size, 16));
    await fh.read(head, 0, head.length, 0);
    const text = new TextDecoder().decode(head).trimStart();
    const format = isLstrace(head) ? 'lstrace' : text.startsWith('{') ? 'chrome' : null;
    if (!format) throw new Error(`${path} is neither a .lstrace file (it does not start with the .lstrace magic) nor Chrome Trace Event JSON`);
    const result: LoadResult = { format, records: 0, bytes: size, damage: null, cancelled: false };

    let pendingList: TraceRecord[] = [];
    const flush = (all: boolean) => {
      while (pendingList.length >= perChunk || (all && pendingList.length > 0)) {
        const part = pendingList.length > perChunk ? pendingList.slice(0, perChunk) : pendingList;
        pendingList = pendingList.length > perChunk ? pendingList.slice(perChunk) : [];
        store.append(codec.encodeChunk(part), part);
        result.records += part.length;
      }
    };

    const buf = new Uint8Array(pieceBytes);
    let pos = 0;
    if (format === 'lstrace') {
      // The file's own chunks go to the store as they are, not re-encoded; the streaming reader still checks
      // each one (header, magic, checksum, every record) and says where damage starts.
      const reader = codec.fileReader();
      let pending: Uint8Array = new Uint8Array(0);
      let headerDone = false;
      const take = (n: number) => {
        const out = pending.subarray(0, n);
        pending = pending.subarray(n);
        return out;
      };
      const damagedRecords: TraceRecord[] = [];
      const damaged = (got: ChunkContent) => {
        for (const r of got.records) damagedRecords.push(r);
        result.damage = got.error?.message ?? null;
      };
      while (pos < size && !result.damage) {
        if (opts.cancelled?.()) return { ...result, cancelled: true };
        const { bytesRead } = await fh.read(buf, 0, pieceBytes, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        pending = concat(pending, buf.subarray(0, bytesRead));
        if (!headerDone && pending.length >= FILE_HEADER_BYTES) {
          const got = reader.push(take(FILE_HEADER_BYTES).slice());
          if (got.error) damaged(got);
          headerDone = true;
        }
        while (headerDone && !result.damage && pending.length >= CHUNK_HEADER_BYTES) {
          const view = new DataView(pending.buffer, pending.byteOffset, pending.byteLength);
          const body = view.getUint32(4);
          if (view.getUint32(0) !== CHUNK_MAGIC || body > MAX_CHUNK_BODY) {
            damaged(reader.push(take(pending.length).slice())); // the reader names what is wrong, and where
            break;
          }
          if (pending.length < CHUNK_HEADER_BYTES + body) break;
          const chunk = take(CHUNK_HEADER_BYTES + body).slice();
          const got = reader.push(chunk);
          if (got.error) damaged(got);
          else {
            store.append(chunk, got.records);
            result.records += got.records.length;
          }
        }
        opts.progress?.(pos, size);
        await yieldToLoop();
      }
      if (!result.damage) {
        if (pending.length > 0) damaged(reader.push(pending.slice()));
        if (!result.damage) {
          const end = reader.finish();
          if (end.records.length || end.error) damaged(end);
        }
      }
      // Whole records before the damage that were not in a whole verified chunk.
      for (const r of damagedRecords) pendingList.push(r);
      flush(true);
      return result;
    }

    if (size > MAX_JSON_BYTES) throw new Error(`${path} is ${Math.round(size / 2 ** 20)} MiB of JSON; at most ${MAX_JSON_BYTES / 2 ** 20} MiB can be opened. Convert it with \`linsock export IN --format lstrace\`.`);
    const decoder = new TextDecoder();
    const parts: string[] = [];
    while (pos < size) {
      if (opts.cancelled?.()) return { ...result, cancelled: true };
      const { bytesRead } = await fh.read(buf, 0, pieceBytes, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      parts.push(decoder.decode(buf.subarray(0, bytesRead), { stream: true }));
      opts.progress?.(pos, size);
      await yieldToLoop();
    }
    parts.push(decoder.decode());
    const records = readChromeTrace(parts.join(''));
    for (let i = 0; i < records.length; i += perChunk) {
      if (opts.cancelled?.()) return { ...result, cancelled: true };
      pendingList = records.slice(i, i + perChunk);
      flush(true);
      await yieldToLoop();
    }
    return result;
  } finally {
    await fh.close();
  }
}
