// Raw relay probe, run inside a guest: COUNT 1-byte request/response round trips to an echo server at
// HOST:PORT (after 200 warm-up ones); prints {"count":n,"p50_us":x,"p99_us":x}.
import { connect } from 'node:net';

const [host, port, countArg] = process.argv.slice(2);
const count = Number(countArg);
const WARMUP = 200;
const one = Buffer.from([0x2a]);
const rtts = [];
const sock = connect({ host, port: Number(port) }, () => {
  sock.setNoDelay(true);
  let i = 0;
  let t0 = process.hrtime.bigint();
  sock.on('data', () => {
    const t = process.hrtime.bigint();
    if (i >= WARMUP) rtts.push(Number(t - t0) / 1000);
    if (++i >= count + WARMUP) return void sock.end();
    t0 = process.hrtime.bigint();
    sock.write(one);
  });
  sock.write(one);
});
sock.once('close', () => {
  rtts.sort((a, b) => a - b);
  const at = (q) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))];
  console.log(JSON.stringify({ count: rtts.length, p50_us: at(0.5), p99_us: at(0.99) }));
});
sock.on('error', (e) => {
  console.error(`rr-ping: ${e.message}`);
  process.exit(1);
});
