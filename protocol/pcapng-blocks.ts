// pcapng blocks as bytes (the IETF draft "PCAP Now Generic", little-endian sections): the Section Header,
// Interface Description and Enhanced Packet blocks with their options, each padded to 32 bits.

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** LINKTYPE_ETHERNET */
export const LINKTYPE_ETHERNET = 1;

/** Option codes: opt_comment everywhere; shb_userappl; if_name, if_description, if_tsresol. */
export const OPT = { comment: 1, shbUserAppl: 4, ifName: 2, ifDescription: 3, ifTsresol: 9 } as const;

export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

const utf8 = new TextEncoder();
/** A text option; pcapng strings are UTF-8 without a terminating zero. */
export const textOption = (code: number, text: string): PcapngOption => ({ code, value: utf8.encode(text) });

const pad4 = (n: number): number => (n + 3) & ~3;

function optionsLength(options: readonly PcapngOption[]): number {
  if (options.length === 0) return 0;
  // Each option: code, length, value padded; then opt_endofopt (4 bytes).
  return options.reduce((n, o) => n + 4 + pad4(o.value.length), 0) + 4;
}

/** A block: type, total length, `body` (already padded), options, total length again. */
function block(type: number, bodyLength: number, options: readonly PcapngOption[], fill: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const total = 12 + bodyLength + optionsLength(options);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  fill(new DataView(bytes.buffer, 8, bodyLength), bytes.subarray(8, 8 + bodyLength));
  let at = 8 + bodyLength;
  if (options.length) {
    for (const o of options) {
      if (o.value.length > 0xffff) throw new RangeError(`pcapng option ${o.code} of ${o.value.length} bytes exceeds 65535`);
      view.setUint16(at, o.code, true);
      view.setUint16(at + 2, o.value.length, true);
      bytes.set(o.value, at + 4);
      at += 4 + pad4(o.value.length);
    }
    at += 4; // opt_endofopt: code 0, length 0 (already zero)
  }
  view.setUint32(at, total, true);
  return bytes;
}

/** Section Header Block, version 1.0, section length unknown (-1). */
export function sectionHeader(options: readonly PcapngOption[]): Uint8Array {
  return block(SHB, 16, options, (v) => {
    v.setUint32(0, BYTE_ORDER_MAGIC, true);
    v.setUint16(4, 1, true);
    v.setUint16(6, 0, true);
    v.setInt32(8, -1, true);
    v.setInt32(12, -1, true);
  });
}

/** Interface Description Block for an Ethernet interface; `snapLength` 0 means no limit. */
export function interfaceDescription(snapLength: number, options: readonly PcapngOption[]): Uint8Array {
  return block(IDB, 8, options, (v) => {
    v.setUint16(0, LINKTYPE_ETHERNET, true);
    v.setUint32(4, snapLength, true);
  });
}

/**
 * Enhanced Packet Block: `captured` bytes of a packet that was `originalLength` long on the wire, at
 * `timestamp` in the interface's units (a non-negative integer below 2^53).
 */
export function enhancedPacket(iface: number, timestamp: number, captured: Uint8Array, originalLength: number, options: readonly PcapngOption[]): Uint8Array {
  return block(EPB, 20 + pad4(captured.length), options, (v, body) => {
    v.setUint32(0, iface, true);
    v.setUint32(4, Math.floor(timestamp / 2 ** 32), true);
    v.setUint32(8, timestamp % 2 ** 32, true);
    v.setUint32(12, captured.length, true);
    v.setUint32(16, originalLength, true);
    body.set(captured, 20);
  });
}
