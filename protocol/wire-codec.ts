// The delegation wire protocol v1 codec: messages to frames (wire-encode.ts) and a strict streaming
// FrameDecoder back (wire-decode.ts), both driven by the layout table (wire-layout.ts). Layouts are
// documented byte by byte in README.md; semantics in wire.ts.

export { encodeFrameParts, encodeMessage } from './wire-encode';
export { FrameDecoder, ProtocolError, type DecodeResult, type FrameDecoderOptions } from './wire-decode';
export { MIN_MAX_PAYLOAD, STAMP_ENTRY_BYTES, WIRE_LAYOUT, type FrameLayout } from './wire-layout';
