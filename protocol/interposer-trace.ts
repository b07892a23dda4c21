// The interposer's trace stream (trace-only mode, native/interposer/trace.c): what a traced program's
// process sends `linsock run` over one Unix stream connection. A hello names the process; then batches of
// one thread's calls, each a fixed 32-byte record. Little-endian: both ends are on one host. Layout byte
// by byte in README.md, "Interposer trace stream". The decoder never trusts a length it has not checked.

import { errnoFromCode } from './errno';
import { OPS, type CallRecord, type Path } from './trace';

export const INTERPOSER_HELLO_MAGIC = 0x5254534c; // "LSTR"
export const INTERPOSER_BATCH_MAGIC = 0x4254534c; // "LSTB"
export const INTERPOSER_TRACE_VERSION = 1;
export const INTERPOSER_RECORD_BYTES = 32;
export const INTERPOSER_BATCH_HEADER_BYTES = 16;
/** The most records one batch may hold (the interposer sends at most 256). */
export const MAX_INTERPOSER_BATCH = 4096;
/** The record's result byte when the call succeeded. */
const RESULT_OK = 0xff;

/** One timed kernel call: enter and return on the host's monotonic clock (ns). */
export interface InterposedCall {
  op: number;
  /** 0xff: ok; else the errno's wire code (errno.ts). */
  result: number;
  fd: number;
  bytes: number;
  enterNs: number;
  returnNs: number;
}

export type InterposerEvent =
  | { kind: 'hello'; version: number; pid: number; name: string }
  | { kind: 'batch'; tid: number; dropped: number; calls: InterposedCall[] };

export class InterposerTraceError extends Error {}

/** Decodes one connection's bytes as they arrive; throws InterposerTraceError on a malformed stream. */
export class InterposerTraceDecoder {
  private buf = new Uint8Array(0);
  private helloSeen = false;

  push(bytes: Uint8Array): InterposerEvent[] {
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf, 0);
    joined.set(bytes, this.buf.length);
    const out: InterposerEvent[] = [];
    let at = 0;
    for (;;) {
      const used = this.helloSeen ? this.batch(joined, at, out) : this.hello(joined, at, out);
      if (used === 0) break;
      at += used;
    }
    this.buf = joined.slice(at);
    return out;
  }

  private hello(b: Uint8Array, at: number, out: InterposerEvent[]): number {
    if (b.length - at < 13) return 0;
    const v = new DataView(b.buffer, b.byteOffset + at);
    const magic = v.getUint32(0, true);
    if (magic !== INTERPOSER_HELLO_MAGIC) throw new InterposerTraceError(`hello magic 0x${magic.toString(16)}: expected 0x${INTERPOSER_HELLO_MAGIC.toString(16)} ("LSTR")`);
    const version = v.getUint8(4);
    if (version !== INTERPOSER_TRACE_VERSION) throw new InterposerTraceError(`interposer trace version ${version}: this reader knows ${INTERPOSER_TRACE_VERSION}`);
    const n = v.getUint8(12);
    if (b.length - at < 13 + n) return 0;
    const name = new TextDecoder().decode(b.subarray(at + 13, at + 13 + n));
    out.push({ kind: 'hello', version, pid: v.getUint32(8, true), name });
    this.helloSeen = true;
    return 13 + n;
  }

  private batch(b: Uint8Array, at: number, out: InterposerEvent[]): number {
    if (b.length - at < INTERPOSER_BATCH_HEADER_BYTES) return 0;
    const v = new DataView(b.buffer, b.byteOffset + at);
    const magic = v.getUint32(0, true);
    if (magic !== INTERPOSER_BATCH_MAGIC) throw new InterposerTraceError(`batch magic 0x${magic.toString(16)}: expected 0x${INTERPOSER_BATCH_MAGIC.toString(16)} ("LSTB")`);
    const count = v.getUint32(8, true);
    if (count > MAX_INTERPOSER_BATCH) throw new InterposerTraceError(`a batch of ${count} records: expected at most ${MAX_INTERPOSER_BATCH}`);
    const size = INTERPOSER_BATCH_HEADER_BYTES + count * INTERPOSER_RECORD_BYTES;
    if (b.length - at < size) return 0;
    const calls: InterposedCall[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const o = INTERPOSER_BATCH_HEADER_BYTES + i * INTERPOSER_RECORD_BYTES;
      const op = v.getUint8(o);
      if (op >= OPS.length) throw new InterposerTraceError(`record ${i}: op ${op} is not one of the ${OPS.length} ops`);
      calls[i] = {
        op,
        result: v.getUint8(o + 1),
        fd: v.getInt32(o + 4, true),
        bytes: v.getUint32(o + 8, true),
        enterNs: Number(v.getBigUint64(o + 16, true)),
        returnNs: Number(v.getBigUint64(o + 24, true)),
      };
    }
    out.push({ kind: 'batch', tid: v.getUint32(4, true), dropped: v.getUint32(12, true), calls });
    return size;
  }
}

/** The guest a process's thread is traced as: `name[pid]` for its main thread, `name[pid/tid]` for others. */
export function interposedGuest(name: string, pid: number, tid: number): string {
  return tid === pid || tid === 0 ? `${name}[${pid}]` : `${name}[${pid}/${tid}]`;
}

/**
 * The call record of one timed kernel call: one `kernel` stage, enter -> return of the real call, both read
 * in the calling thread (so in order). `socket` is the fd (0 for a call that made none, a failed socket()).
 */
export function interposedCallRecord(c: InterposedCall, run: string, path: Path, guest: string): CallRecord {
  const result = c.result === RESULT_OK ? 'ok' : (errnoFromCode(c.result) ?? 'EIO');
  return {
    kind: 'call', seq: 0, run, guest, path, socket: c.fd < 0 ? 0 : c.fd, op: OPS[c.op] as CallRecord['op'], bytes: c.bytes, result,
    stages: [{ name: 'kernel', start: c.enterNs, end: c.returnNs }],
  };
}
