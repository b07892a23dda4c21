// The headers of a frame record, rebuilt: a FrameRecord keeps the frame's flow (addresses, ports), direction
// and lengths, not its bytes, so the pcapng export writes Ethernet, IPv4/IPv6 and TCP/UDP headers that say
// exactly that — the right 5-tuple, IP and transport lengths that give the recorded payload, the frame's
// length on the wire — and captures only the headers (the payload was never recorded, and a capture
// truncated at the headers says so where zero bytes would pretend otherwise). TCP sequence numbers count
// each direction's payload bytes from a per-flow start and acknowledge what the other direction sent, so
// that Wireshark follows the stream; flags are ACK (and PSH with data): handshakes and FINs are not told
// apart in the records. MAC addresses are locally administered ones made from the IP addresses.

import { parseIPv4, parseIPv6 } from './ip-address';
import type { Flow, FrameRecord } from './trace';

const ETH = 14;
const IPV4 = 20;
const IPV6 = 40;
const TCP_MIN = 20;
const TCP_MAX = 60;
const UDP = 8;
/** EtherType for frames whose headers were not recorded (not TCP or UDP): IEEE 802 local experimental. */
export const ETHERTYPE_UNRECORDED = 0x88b5;
/** The most header bytes a rebuilt frame captures: Ethernet, IPv6, TCP with 40 bytes of options. */
export const MAX_HEADER_BYTES = ETH + IPV6 + TCP_MAX;
/** Flows whose sequence numbers are remembered; past this many the oldest half is forgotten. */
const FLOWS_KEPT = 65_536;

interface Direction {
  isn: number;
  sent: number;
  ipId: number;
}

/** The 32-bit FNV-1a hash of `text`: a stable, arbitrary initial sequence number per flow direction. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The Internet checksum (RFC 1071) of `parts`, each summed as 16-bit big-endian words from an even offset. */
function checksum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += ((p[i] as number) << 8) | (p[i + 1] as number);
    if (p.length & 1) sum += (p[p.length - 1] as number) << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface RebuiltFrame {
  /** The captured bytes: the headers. */
  bytes: Uint8Array;
  /** Why the headers are not the frame's own, when they could not say all of it (null when they do). */
  note: string | null;
}

/** Rebuilds frame headers, keeping TCP sequence numbers per flow across calls. */
export class FrameHeaders {
  private readonly directions = new Map<string, Direction>();

  rebuild(f: FrameRecord): RebuiltFrame {
    if (!f.flow) {
      const bytes = new Uint8Array(Math.min(ETH, f.length));
      const eth = new Uint8Array(ETH);
      writeMac(eth, 0, `${f.guest} peer`);
      writeMac(eth, 6, f.guest);
      eth[12] = ETHERTYPE_UNRECORDED >> 8;
      eth[13] = ETHERTYPE_UNRECORDED & 0xff;
      bytes.set(eth.subarray(0, bytes.length));
      return { bytes, note: 'not TCP or UDP: its headers were not recorded' };
    }
    return this.transport(f, f.flow);
  }

  private direction(key: string): Direction {
    let d = this.directions.get(key);
    if (!d) {
      if (this.directions.size >= FLOWS_KEPT) for (const k of [...this.directions.keys()].slice(0, FLOWS_KEPT / 2)) this.directions.delete(k);
      d = { isn: fnv1a(key), sent: 0, ipId: fnv1a(`id ${key}`) & 0xffff };
      this.directions.set(key, d);
    }
    return d;
  }

  private transport(f: FrameRecord, flow: Flow): RebuiltFrame {
    const v6 = flow.src.includes(':');
    const ipLen = v6 ? IPV6 : IPV4;
    const src = new Uint8Array(v6 ? 16 : 4);
    const dst = new Uint8Array(v6 ? 16 : 4);
    const parsed = v6 ? parseIPv6(flow.src, src, 0) && parseIPv6(flow.dst, dst, 0) : parseIPv4(flow.src, src, 0) && parseIPv4(flow.dst, dst, 0);
    const tcp = flow.protocol === 'tcp';
    // What the frame has after the IP header: transport header + payload (+ Ethernet padding, if any).
    const avail = f.length - ETH - ipLen;
    let l4 = tcp ? avail - f.payload : UDP;
    let note: string | null = parsed ? null : `addresses ${flow.src} and ${flow.dst} are not both IPv${v6 ? 6 : 4}: written as zeros`;
    // A TCP header is 20 to 60 bytes in steps of 4; anything else is padding after a minimal header.
    if (tcp && (l4 < TCP_MIN || l4 > TCP_MAX || l4 % 4 !== 0)) l4 = TCP_MIN;
    if (avail < l4 + f.payload) note ??= `the recorded length ${f.length} is shorter than its headers and ${f.payload} payload bytes`;
    const bytes = new Uint8Array(ETH + ipLen + l4);
    const view = new DataView(bytes.buffer);
    const key = `${f.run} ${flow.protocol} ${flow.src} ${flow.srcPort} ${flow.dst} ${flow.dstPort}`;
    const back = `${f.run} ${flow.protocol} ${flow.dst} ${flow.dstPort} ${flow.src} ${flow.srcPort}`;
    const d = this.direction(key);
    writeMac(bytes, 0, flow.dst);
    writeMac(bytes, 6, flow.src);
    view.setUint16(12, v6 ? 0x86dd : 0x0800);
    const ip = bytes.subarray(ETH, ETH + ipLen);
    const ipView = new DataView(bytes.buffer, ETH, ipLen);
    const l4Total = l4 + f.payload;
    const proto = tcp ? 6 : 17;
    if (v6) {
      ipView.setUint32(0, 0x60000000);
      ipView.setUint16(4, l4Total);
      ip[6] = proto;
      ip[7] = 64;
      ip.set(src, 8);
      ip.set(dst, 24);
    } else {
      ip[0] = 0x45;
      ipView.setUint16(2, IPV4 + l4Total);
      ipView.setUint16(4, d.ipId);
      d.ipId = (d.ipId + 1) & 0xffff;
      ipView.setUint16(6, 0x4000); // don't fragment
      ip[8] = 64;
      ip[9] = proto;
      ip.set(src, 12);
      ip.set(dst, 16);
      ipView.setUint16(10, checksum([ip]));
    }
    const seg = bytes.subarray(ETH + ipLen);
    const segView = new DataView(bytes.buffer, ETH + ipLen, l4);
    segView.setUint16(0, flow.srcPort);
    segView.setUint16(2, flow.dstPort);
    if (tcp) {
      const other = this.direction(back);
      segView.setUint32(4, (d.isn + d.sent) >>> 0);
      segView.setUint32(8, (other.isn + other.sent) >>> 0);
      seg[12] = (l4 / 4) << 4;
      seg[13] = f.payload > 0 ? 0x18 : 0x10; // ACK, and PSH with data
      segView.setUint16(14, 0xffff);
      seg.fill(1, TCP_MIN, l4); // options: NOPs where the real frame had options of this length
      d.sent += f.payload;
    } else {
      segView.setUint16(4, l4Total);
    }
    // The payload is zeros as far as the checksum goes: they add nothing to the sum.
    const pseudo = new Uint8Array(src.length * 2 + 8);
    pseudo.set(src, 0);
    pseudo.set(dst, src.length);
    const pv = new DataView(pseudo.buffer);
    pv.setUint32(src.length * 2, l4Total);
    pv.setUint32(src.length * 2 + 4, proto);
    const sum = checksum([pseudo, seg]);
    segView.setUint16(tcp ? 16 : 6, !tcp && sum === 0 ? 0xffff : sum);
    return { bytes, note };
  }
}

/** A locally administered unicast MAC (02:..) from the FNV-1a hash of an endpoint's name or address. */
function writeMac(out: Uint8Array, at: number, endpoint: string): void {
  const h = fnv1a(endpoint);
  out[at] = 0x02;
  out[at + 1] = 0x4c; // 'L'
  out[at + 2] = h >>> 24;
  out[at + 3] = (h >>> 16) & 0xff;
  out[at + 4] = (h >>> 8) & 0xff;
  out[at + 5] = h & 0xff;
}
