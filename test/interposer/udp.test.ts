// Delegated UDP with an unmodified socat: datagrams to a host echo and back (connected and sendto), one as
// large as UDP allows, and a UDP server in the guest (bound by the daemon on the host) reached from the host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon';
import { RUN_POLICY } from '../../lab/run/run-program';
import { buildPreload, cc, linsockRun, requireProgram } from './harness';

let dir: string;
let daemon: RunningDaemon;
let echo: Socket;
let echoPort: number;
/** Per datagram the echo got: its source port and the daemon's UDP local ports at that moment. */
const seenAtEcho: { from: number; daemonPorts: number[] }[] = [];

function daemonUdpPorts(): number[] {
  return daemon.guests().flatMap((g) => g.sockets.filter((s) => s.kind === 'udp').map((s) => Number(/:(\d+)$/.exec(s.local ?? '')?.[1])));
}

function bindUdp(s: Socket, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s.address().port));
  });
}

before(async () => {
  requireProgram('socat', 'socat');
  dir = mkdtempSync(join(tmpdir(), 'linsock-udp-'));
  buildPreload();
  daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: RUN_POLICY });
  echo = createSocket('udp4');
  echo.on('message', (m, r) => {
    seenAtEcho.push({ from: r.port, daemonPorts: daemonUdpPorts() });
    echo.send(m, r.port, r.address);
  });
  echoPort = await bindUdp(echo);
});

after(async () => {
  echo?.close();
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

const guest = (): string[] => ['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--'];

for (const [mode, address] of [['a connected socket (UDP4)', 'UDP4'], ['sendto/recvfrom (UDP4-SENDTO)', 'UDP4-SENDTO']] as const) {
  test(`socat sends a datagram to a host echo and prints the reply: ${mode}`, async () => {
    const payload = `linsock-udp-${randomBytes(6).toString('hex')}`;
    const before = seenAtEcho.length;
    const r = await linsockRun([...guest(), 'socat', '-t', '1', '-', `${address}:127.0.0.1:${echoPort}`], payload);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, payload);
    const seen = seenAtEcho.slice(before);
    assert.equal(seen.length, 1, 'one datagram reached the echo');
    assert.ok(seen[0]?.daemonPorts.includes(seen[0].from), `the echo's peer port ${seen[0]?.from} is a UDP socket of the daemon (${seen[0]?.daemonPorts.join(', ')})`);
  });
}

test('a 65000-byte datagram goes out and comes back whole', async () => {
  const payload = randomBytes(65000);
  const before = seenAtEcho.length;
  const r = await linsockRun([...guest(), 'socat', '-b', '65507', '-t', '1', '-', `UDP4-SENDTO:127.0.0.1:${echoPort}`], payload);
  assert.equal(r.code, 0, r.stderr);
  const back = Buffer.from(r.stdout, 'latin1');
  assert.equal(back.length, payload.length);
  assert.ok(back.equals(payload), 'the echoed bytes equal the ones sent');
  // socat reads its stdin pipe in one or a few reads: each is one datagram of up to 65000 bytes.
  assert.ok(seenAtEcho.length - before >= 1 && seenAtEcho.length - before <= 4, `${seenAtEcho.length - before} datagrams`);
});

test('a UDP server in the guest (socat UDP4-RECVFROM, bound by the daemon) answers the host', async () => {
  const probe = createSocket('udp4');
  const port = await bindUdp(probe); // a free port, handed to the guest
  probe.close();
  const server = linsockRun([...guest(), 'socat', `UDP4-RECVFROM:${port},bind=127.0.0.1`, 'PIPE']);
  const client = createSocket('udp4');
  await bindUdp(client);
  const payload = `ping-${randomBytes(4).toString('hex')}`;
  // Closed however the wait ends: an open socket would keep this file's process alive after a failure.
  const reply = await new Promise<{ data: string; from: number }>((resolve, reject) => {
    // The guest binds once it runs: send until it answers.
    const timer = setInterval(() => client.send(payload, port, '127.0.0.1'), 100);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      reject(new Error('no reply from the guest server within 20 s'));
    }, 20_000);
    // A server that ends without answering (its port taken, a bind refused) says why, without waiting out
    // the deadline; its answer, sent before it ended, has half a second to be read first.
    void server.then((r) => setTimeout(() => {
      clearInterval(timer);
      clearTimeout(deadline);
      reject(new Error(`the guest server ended (code ${r.code}) without an answer: ${r.stderr}`));
    }, 500));
    client.once('message', (m, r) => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve({ data: m.toString(), from: r.port });
    });
  }).finally(() => client.close());
  assert.deepEqual(reply, { data: payload, from: port });
  const r = await server;
  assert.equal(r.code, 0, r.stderr);
});

test('a UDP destination the policy denies fails as EACCES: at connect, and at the receive after a sendto', async () => {
  // 127.0.0.2 is host loopback: the run's own daemon allows 127.0.0.1 only.
  const connected = await linsockRun(['--path', 'delegated', '--', 'socat', '-t', '1', '-', `UDP4:127.0.0.2:${echoPort}`], 'x');
  assert.equal(connected.code, 1, connected.stderr);
  assert.match(connected.stderr, /connect\(.*127\.0\.0\.2.*\): Permission denied/);
  const started = Date.now();
  const sent = await linsockRun(['--path', 'delegated', '--', 'socat', '-d', '-t', '5', '-', `UDP4-SENDTO:127.0.0.2:${echoPort}`], 'x');
  // The pipelined sendto's error wakes socat's blocked receive (socat takes it as a warning and ends).
  assert.match(sent.stderr, /recvmsg\(\): Permission denied/);
  assert.ok(Date.now() - started < 5000, `ended in ${Date.now() - started} ms, before socat's own 5 s timeout`);
});

test('a C client: sendmmsg, recvmmsg with source addresses, and MSG_TRUNC, delegated', async () => {
  const bin = join(dir, 'udp-mmsg');
  cc(['-O2', '-Wall', '-o', bin, join(__dirname, 'udp-mmsg.c')]);
  const r = await linsockRun([...guest(), bin, String(echoPort)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, 'mmsg ok\n');
});
