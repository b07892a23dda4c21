// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) that guards each .lstrace chunk. Slicing-by-4 tables:
// the viewer checks tens of megabytes per file, and a byte-at-a-time loop would cost it about 4x more.

const T = new Int32Array(4 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 4; t++) {
    const prev = T[(t - 1) * 256 + n] as number;
    T[t * 256 + n] = (T[prev & 0xff] as number) ^ (prev >>> 8);
  }
}

/** CRC-32 of buf[start, end), as an unsigned 32-bit number (crc32 of "123456789" is 0xCBF43926). */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  let i = start;
  const end4 = start + ((end - start) & ~3);
  for (; i < end4; i += 4) {
    c ^= (buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24);
    c = (T[768 + (c & 0xff)] as number) ^ (T[512 + ((c >>> 8) & 0xff)] as number) ^ (T[256 + ((c >>> 16) & 0xff)] as number) ^ (T[c >>> 24] as number);
  }
  for (; i < end; i++) c = (T[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
