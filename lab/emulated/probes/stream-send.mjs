// Raw relay probe, run inside a guest: sends BYTES to HOST:PORT in 64 KiB writes (each chunk numbered),
// then prints {"bytes":n,"digest":hex,"ms":x}. DIGEST: sha256 | crc32 | none (see digest.mjs).
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createDigest } from './digest.mjs';

const [host, port, bytesArg, digestKind = 'sha256'] = process.argv.slice(2);
const total = Number(bytesArg);
const CHUNK = 65536;
const pool = randomBytes(1 << 20);
const hash = createDigest(digestKind);
const sock = connect({ host, port: Number(port) }, () => {
  const t0 = process.hrtime.bigint();
  let sent = 0;
  let index = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(CHUNK, total - sent);
      const at = (index * 7919) % (pool.length - CHUNK);
      const piece = Buffer.from(pool.subarray(at, at + n));
      if (n >= 8) piece.writeBigUInt64LE(BigInt(index), 0);
      index++;
      hash.update(piece);
      sent += n;
      if (!sock.write(piece)) return void sock.once('drain', pump);
    }
    sock.end();
  };
  sock.once('close', () => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(JSON.stringify({ bytes: sent, digest: hash.hex(), ms }));
  });
  pump();
});
sock.on('error', (e) => {
  console.error(`stream-send: ${e.message}`);
  process.exit(1);
});
