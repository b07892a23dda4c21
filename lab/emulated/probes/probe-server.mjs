// Host side of the raw relay probes: listens on HOST:PORT (the host TAP's address, never 0.0.0.0).
// MODE sink: per connection, prints {"bytes":n,"digest":hex} when the peer ends (DIGEST as the sender's,
// see digest.mjs). MODE echo: echoes. Prints "listening" once ready.
import { createServer } from 'node:net';
import { createDigest } from './digest.mjs';

const [mode, host, port, digestKind = 'sha256'] = process.argv.slice(2);
const server = createServer((s) => {
  if (mode === 'echo') {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  } else {
    const hash = createDigest(digestKind);
    let bytes = 0;
    s.on('data', (d) => {
      hash.update(d);
      bytes += d.length;
    });
    s.on('end', () => {
      console.log(JSON.stringify({ bytes, digest: hash.hex() }));
      s.end();
    });
  }
  s.on('error', () => undefined);
});
server.listen(Number(port), host, () => console.log('listening'));
