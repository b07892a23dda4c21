// IP addresses as 128-bit integers and CIDR ranges over them. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are folded to IPv4, because that is where the kernel sends them.
import { isIPv4 } from 'node:net';
import { parseIPv4, parseIPv6 } from '../../protocol/ip-address';

export interface Address {
  family: 4 | 6;
  value: bigint;
}

export interface AddressRange {
  family: 4 | 6;
  /** The network with host bits cleared. */
  network: bigint;
  prefix: number;
  text: string;
}

const MAPPED_PREFIX = 0xffffn << 32n;

function bytesValue(b: Uint8Array): bigint {
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

/** Parses an address; null when it is not an IP address. */
export function parseAddress(text: string): Address | null {
  let bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = bare.indexOf('%');
  if (zone >= 0) bare = bare.slice(0, zone);
  const b4 = new Uint8Array(4);
  if (parseIPv4(bare, b4, 0)) return { family: 4, value: bytesValue(b4) };
  const b6 = new Uint8Array(16);
  if (!parseIPv6(bare, b6, 0)) return null;
  const v = bytesValue(b6);
  if (v >> 32n === MAPPED_PREFIX >> 32n) return { family: 4, value: v & 0xffffffffn };
  return { family: 6, value: v };
}

/** Parses `addr/prefix` or a bare address (a single-host range); throws an Error that says what is wrong. */
export function parseRange(text: string): AddressRange {
  const [addrText = '', prefixText] = text.split('/');
  const isV4Text = isIPv4(addrText);
  const addr = parseAddress(addrText);
  if (!addr) throw new Error(`'${text}' is not an IP address or CIDR range (expected e.g. 10.0.0.0/8 or fd00::/8)`);
  const textBits = isV4Text ? 32 : 128;
  let prefix = textBits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > textBits)
      throw new Error(`'${text}' has a prefix length that is not 0..${textBits}`);
    prefix = Number(prefixText);
  }
  // A range written in the mapped form (::ffff:10.0.0.0/104) means the IPv4 range.
  if (!isV4Text && addr.family === 4) {
    if (prefix < 96) throw new Error(`'${text}' mixes IPv4-mapped and other IPv6 addresses; write the IPv4 range instead`);
    prefix -= 96;
  }
  const bits = addr.family === 4 ? 32 : 128;
  const hostBits = BigInt(bits - prefix);
  const network = (addr.value >> hostBits) << hostBits;
  return { family: addr.family, network, prefix, text };
}

export function inRange(a: Address, r: AddressRange): boolean {
  if (a.family !== r.family) return false;
  const hostBits = BigInt((a.family === 4 ? 32 : 128) - r.prefix);
  return (a.value >> hostBits) << hostBits === r.network;
}
