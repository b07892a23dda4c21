// Reads what a frame says about itself — MACs, EtherType, and for IPv4/IPv6 carrying TCP or UDP the flow
// and payload size — checking every length against the bytes actually present. A frame whose headers
// contradict its size is garbage: the device model counts and drops it, and never trusts it further.
// The relay's hot path uses inspectFrame() with one reused FrameInfo and builds flow strings (flowOf())
// only when it records frames.

import type { Flow, FrameContent } from '../../protocol';

/** Length of the virtio-net header that precedes every frame on a TAP opened with IFF_VNET_HDR. */
export const VNET_HDR_LEN = 10;
export const ETH_HDR_LEN = 14;
const ETH_P_IPV4 = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

export interface FrameInfo {
  /** 48-bit MAC addresses as numbers (exact: below 2^53). */
  dst: number;
  src: number;
  /** Multicast or broadcast destination: the I/G bit of the first octet. */
  group: boolean;
  etherType: number;
  /** Ethernet frame length (virtio-net header excluded). */
  length: number;
  /** 6 (TCP) or 17 (UDP) when the frame carries a transport header the parser checked; else 0. */
  transport: number;
  /** 4 or 6: where flowOf() finds the addresses (at `l3`) and ports (at `l4`). */
  ipVersion: number;
  l3: number;
  l4: number;
  /** TCP or UDP payload bytes; 0 for anything else. */
  payload: number;
  /** The TCP header's flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10...); 0 for anything else. */
  tcpFlags: number;
}

export const emptyFrameInfo = (): FrameInfo => ({ dst: 0, src: 0, group: false, etherType: 0, length: 0, transport: 0, ipVersion: 0, l3: 0, l4: 0, payload: 0, tcpFlags: 0 });

/** What a frame inspectFrame() accepted carried (FRAME_CONTENTS in protocol/trace.ts). */
export function contentOf(info: FrameInfo): FrameContent {
  if (info.transport === 0) return 'other';
  if (info.transport === IPPROTO_UDP || info.payload > 0) return 'data';
  if (info.tcpFlags & TCP_SYN) return 'handshake';
  if (info.tcpFlags & (TCP_FIN | TCP_RST)) return 'teardown';
  return 'ack';
}

/**
 * Checks `buf` as one frame and fills `out`; returns null for a frame to forward, or why it is garbage.
 * `offset` skips the virtio-net header (0 or VNET_HDR_LEN); `maxLength` is the largest Ethernet frame
 * the port carries (MTU + headers, or 64 KiB with TSO).
 */
export function inspectFrame(buf: Buffer, offset: number, maxLength: number, out: FrameInfo): string | null {
  const length = buf.length - offset;
  if (length < ETH_HDR_LEN) return `frame of ${length} bytes is shorter than an Ethernet header`;
  if (length > maxLength) return `frame of ${length} bytes exceeds the port's ${maxLength}`;
  out.dst = buf.readUIntBE(offset, 6);
  out.src = buf.readUIntBE(offset + 6, 6);
  out.group = (buf[offset]! & 1) === 1;
  if (out.src === 0 || (buf[offset + 6]! & 1) === 1) return 'source MAC is zero or a group address';
  out.etherType = buf.readUInt16BE(offset + 12);
  out.length = length;
  out.transport = 0;
  out.ipVersion = 0;
  out.payload = 0;
  out.tcpFlags = 0;
  const l3 = offset + ETH_HDR_LEN;
  const l3Avail = buf.length - l3;
  out.l3 = l3;
  if (out.etherType === ETH_P_IPV4) {
    if (l3Avail < 20) return 'IPv4 header truncated';
    const vihl = buf[l3]!;
    const ihl = (vihl & 0x0f) * 4;
    if (vihl >> 4 !== 4 || ihl < 20 || ihl > l3Avail) return 'IPv4 version or header length invalid';
    const total = buf.readUInt16BE(l3 + 2);
    if (total < ihl || total > l3Avail) return `IPv4 total length ${total} does not fit the frame`;
    out.ipVersion = 4;
    const fragment = buf.readUInt16BE(l3 + 6) & 0x3fff; // MF flag or offset: no transport header to trust
    const proto = buf[l3 + 9]!;
    if (fragment !== 0 || (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP)) return null;
    return transport(buf, proto, l3 + ihl, total - ihl, out);
  }
  if (out.etherType === ETH_P_IPV6) {
    if (l3Avail < 40) return 'IPv6 header truncated';
    if (buf[l3]! >> 4 !== 6) return 'IPv6 version invalid';
    const plen = buf.readUInt16BE(l3 + 4);
    if (40 + plen > l3Avail) return `IPv6 payload length ${plen} does not fit the frame`;
    out.ipVersion = 6;
    const next = buf[l3 + 6]!;
    // Extension headers are forwarded without a flow: walking them adds risk for no record we need.
    if (next !== IPPROTO_TCP && next !== IPPROTO_UDP) return null;
    return transport(buf, next, l3 + 40, plen, out);
  }
  return null;
}

function transport(buf: Buffer, proto: number, at: number, avail: number, out: FrameInfo): string | null {
  if (proto === IPPROTO_TCP) {
    if (avail < 20) return 'TCP header truncated';
    const doff = (buf[at + 12]! >> 4) * 4;
    if (doff < 20 || doff > avail) return `TCP data offset ${doff} does not fit the segment`;
    out.payload = avail - doff;
    out.tcpFlags = buf[at + 13]!;
  } else {
    if (avail < 8) return 'UDP header truncated';
    const ulen = buf.readUInt16BE(at + 4);
    if (ulen < 8 || ulen > avail) return `UDP length ${ulen} does not fit the datagram`;
    out.payload = ulen - 8;
  }
  out.transport = proto;
  out.l4 = at;
  return null;
}

/** The flow of a frame inspectFrame() accepted, or null when it carries no checked TCP/UDP header. */
export function flowOf(buf: Buffer, info: FrameInfo): Flow | null {
  if (info.transport === 0) return null;
  const v4 = info.ipVersion === 4;
  const src = v4 ? ipv4Text(buf, info.l3 + 12) : ipv6Text(buf, info.l3 + 8);
  const dst = v4 ? ipv4Text(buf, info.l3 + 16) : ipv6Text(buf, info.l3 + 24);
  const protocol = info.transport === IPPROTO_TCP ? 'tcp' : 'udp';
  return { protocol, src, srcPort: buf.readUInt16BE(info.l4), dst, dstPort: buf.readUInt16BE(info.l4 + 2) };
}

/** The sequence number in the TCP header of a frame inspectFrame() accepted; undefined without one. */
export function tcpSeqOf(buf: Buffer, info: FrameInfo): number | undefined {
  return info.transport === IPPROTO_TCP ? buf.readUInt32BE(info.l4 + 4) : undefined;
}

export interface ParsedFrame {
  dst: number;
  src: number;
  group: boolean;
  etherType: number;
  length: number;
  flow: Flow | null;
  payload: number;
  content: FrameContent;
}

export type FrameVerdict = { ok: true; frame: ParsedFrame } | { ok: false; reason: string };

/** inspectFrame() and flowOf() in one, for callers off the hot path. */
export function parseFrame(buf: Buffer, offset: number, maxLength: number): FrameVerdict {
  const info = emptyFrameInfo();
  const reason = inspectFrame(buf, offset, maxLength, info);
  if (reason !== null) return { ok: false, reason };
  const { dst, src, group, etherType, length, payload } = info;
  return { ok: true, frame: { dst, src, group, etherType, length, payload, flow: flowOf(buf, info), content: contentOf(info) } };
}

function ipv4Text(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6Text(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(at + i).toString(16));
  // RFC 5952 form, as Node prints addresses, so that flows match call records: the longest run of
  // two or more zero groups becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
