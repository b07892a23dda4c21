// The .lstrace layout shared by its encoder and decoder: magic numbers, limits, record tag bits, the error.
// README.md documents every byte.

/** File magic, PNG-style: a high byte and CR LF ^Z LF catch 7-bit and newline-mangling transfers. */
export const LSTRACE_MAGIC = Uint8Array.of(0x89, 0x4c, 0x53, 0x54, 0x0d, 0x0a, 0x1a, 0x0a); // \x89 L S T \r \n ^Z \n
/** Version 2 added the optional call facts (CallExtra) and clock offsets (ValueTag.clock); it reads version 1. */
export const LSTRACE_VERSION = 2;
export const LSTRACE_VERSIONS_READ: readonly number[] = [1, 2];
/** magic (8) | u16 version | u16 flags (0) */
export const FILE_HEADER_BYTES = 12;
/** "LSCK" */
export const CHUNK_MAGIC = 0x4c53434b;
/** magic (4) | u32 body length | u32 record count | u32 CRC-32 of the body */
export const CHUNK_HEADER_BYTES = 16;
/** Largest chunk body a reader accepts (and so allocates); writers keep chunks far smaller (~4096 records). */
export const MAX_CHUNK_BODY = 16 * 1024 * 1024;
/** Largest string in a chunk's string table (run params may hold long values). */
export const MAX_TRACE_STRING_BYTES = 65535;
/** Longest run and guest names, and flow addresses, in characters (the limits of invalidRecord, trace.ts). */
export const MAX_RECORD_NAME = 255;
export const MAX_FLOW_ADDRESS = 64;
/** Records per chunk that encodeFile uses: small enough to stream, large enough to amortise the table. */
export const DEFAULT_RECORDS_PER_CHUNK = 4096;

/** Record kinds, the low 2 bits of a record's tag byte. */
export const Kind = { call: 0, frame: 1, run: 2, dropped: 3 } as const;
/** Call tag bits (bits 2-3 hold the path index). */
export const CallBit = { errno: 0x10, frames: 0x20, stageList: 0x40, nextSeq: 0x80 } as const;
/** Frame tag bits (bits 2-3 hold the direction index); `detail`: content and drop cause follow (2 bytes). */
export const FrameBit = { flow: 0x10, udp: 0x20, detail: 0x40, nextSeq: 0x80 } as const;
/** Run tag bits: `pathMtu`: the host facts end with the per-path MTUs. */
export const RunBit = { pathMtu: 0x04 } as const;
/** Value tags of run params, clock errors and host numbers. */
export const ValueTag = { string: 0, nat: 1, true: 2, false: 3, float: 4, clock: 5 } as const;
/**
 * A call with facts beyond its stages (trace.ts, StageTruth and CallTruth) escapes its stage field: a stage
 * mask of 0, or a list count with the high bit set, is followed by a varint of these bits and their
 * values (in this order), then the real mask or list. Records without them cost nothing.
 */
export const CallExtra = { unmeasured: 1, shared: 2, calls: 4, waited: 8, shift: 16, disorder: 32 } as const;
export const STAGE_LIST_EXTRA = 0x80;
export const MODES = [null, 'e1000', 'virtio'] as const;

export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
  readonly reason: string;
  /**
   * `offset`: in the file (or the chunk, when decoding one alone) of the first byte that is wrong or missing.
   * Message: "<what> at offset <offset>: <expected>", e.g.
   * "truncated chunk at offset 12345: expected 4096 bytes, file ended after 100".
   */
  constructor(readonly offset: number, what: string, expected: string) {
    super(`${what} at offset ${offset}: ${expected}`);
    this.reason = `${what}: ${expected}`;
  }
}
