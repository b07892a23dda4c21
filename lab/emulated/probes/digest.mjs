// The running digest both probe ends keep: sha256 (tests), crc32 (cheap enough to verify while
// measuring), or none (raw throughput, like iperf). Chunks are numbered by the sender, so a lost,
// repeated or reordered chunk changes the digest as well as a corrupted byte does.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export function createDigest(kind) {
  if (kind === 'sha256') {
    const h = createHash('sha256');
    return { update: (b) => void h.update(b), hex: () => h.digest('hex') };
  }
  if (kind === 'crc32') {
    let c = 0;
    return { update: (b) => void (c = crc32(b, c)), hex: () => c.toString(16).padStart(8, '0') };
  }
  if (kind === 'none') return { update: () => undefined, hex: () => 'unchecked' };
  throw new Error(`unknown digest '${kind}' (sha256, crc32 or none)`);
}
