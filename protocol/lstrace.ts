// The .lstrace trace file format: a versioned header, then self-contained CRC-checked chunks of records
// (call, frame, run, dropped) with varint and delta encoding. Layout byte by byte in README.md.
// The same chunk bytes travel as binary WebSocket messages (trace-stream.ts) and to the viewer.

export {
  CHUNK_HEADER_BYTES, DEFAULT_RECORDS_PER_CHUNK, FILE_HEADER_BYTES, LSTRACE_MAGIC, LSTRACE_VERSION, MAX_CHUNK_BODY,
  MAX_TRACE_STRING_BYTES, TraceFileError,
} from './lstrace-format';
export { ChunkWriter, encodeChunk, encodeFile, encodeFileHeader } from './lstrace-encode';
export {
  CallView, decodeChunk, isLstrace, LstraceReader, visitChunk, visitLstrace,
  type ChunkVisitor, type TraceReadResult,
} from './lstrace-decode';
