// IP address text <-> bytes for wire endpoints. Parsing follows inet_pton (strict dotted quad, no leading
// zeros, no zone ids); formatting follows inet_ntop as libuv (and so node:net) prints it: RFC 5952
// lowercase with the longest zero run compressed, and IPv4-mapped/compatible addresses in dotted form.

/** Parses a dotted-quad IPv4 address into out[at..at+4); false when `s` is not one. */
export function parseIPv4(s: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e; // a virtual '.' closes the last part
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      if (value > 255) return false;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      digits = 0;
      value = 0;
    } else return false;
  }
  return part === 4;
}

const scratch = new Uint16Array(8);

/** Parses IPv6 text (with optional trailing dotted quad) into out[at..at+16); false when `s` is not one. */
export function parseIPv6(s: string, out: Uint8Array, at: number): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const gap = s.indexOf('::');
  if (gap >= 0 && s.indexOf('::', gap + 1) >= 0) return false;
  const head = gap >= 0 ? s.slice(0, gap) : s;
  const tail = gap >= 0 ? s.slice(gap + 2) : '';
  const words = scratch;
  let n = 0;
  const parseList = (text: string, last: boolean): boolean => {
    if (text === '') return true;
    const parts = text.split(':');
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p] as string;
      if (last && p === parts.length - 1 && part.includes('.')) {
        if (n > 6) return false;
        const v4 = new Uint8Array(4);
        if (!parseIPv4(part, v4, 0)) return false;
        words[n++] = ((v4[0] as number) << 8) | (v4[1] as number);
        words[n++] = ((v4[2] as number) << 8) | (v4[3] as number);
        continue;
      }
      if (part.length < 1 || part.length > 4 || !/^[0-9a-fA-F]+$/.test(part) || n >= 8) return false;
      words[n++] = parseInt(part, 16);
    }
    return true;
  };
  if (gap < 0) {
    if (!parseList(head, true) || n !== 8) return false;
    for (let i = 0; i < 8; i++) writeWord(out, at + 2 * i, words[i] as number);
    return true;
  }
  if (!parseList(head, false)) return false;
  const headWords = n;
  if (!parseList(tail, true) || n > 7) return false;
  const tailWords = n - headWords;
  out.fill(0, at, at + 16);
  for (let i = 0; i < headWords; i++) writeWord(out, at + 2 * i, words[i] as number);
  for (let i = 0; i < tailWords; i++) writeWord(out, at + 16 - 2 * (tailWords - i), words[headWords + i] as number);
  return true;
}

function writeWord(out: Uint8Array, at: number, w: number): void {
  out[at] = w >> 8;
  out[at + 1] = w & 0xff;
}

export function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export function formatIPv6(b: Uint8Array, at: number): string {
  const w = (i: number): number => (((b[at + 2 * i] as number) << 8) | (b[at + 2 * i + 1] as number));
  // The longest run of at least two zero words becomes '::' (the first such run on a tie).
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && w(i) === 0) {
      if (curBase < 0) curBase = i;
    } else if (curBase >= 0) {
      if (i - curBase > bestLen) [bestBase, bestLen] = [curBase, i - curBase];
      curBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      s += ':';
      i += bestLen - 1;
      if (i === 7) s += ':';
      continue;
    }
    if (i > 0) s += ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses print their last 32 bits dotted.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w(5) === 0xffff))) {
      s += formatIPv4(b, at + 12);
      break;
    }
    s += w(i).toString(16);
  }
  return s;
}
