// The shared-memory channel end to end: a real linsockd and a real guest runtime moving frames through
// the rings (a stream with every byte checked, round trips), a guest killed mid-stream (the daemon cleans
// its session, host sockets and descriptors up), and a daemon stopped with SIGTERM mid-stream (the guest
// hears why, the daemon exits 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, createChannel, type Channel } from '../../guest';
import { startTestDaemon } from './test-daemon';

const ROOT = resolve(__dirname, '../..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fdCount = (): number => readdirSync('/proc/self/fd').length;

test('a stream with every byte checked and round trips go through the rings', async () => {
  const daemon = await startTestDaemon();
  const sink = net.createServer((s) => {
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (c: Buffer) => {
      h.update(c);
      n += c.length;
    });
    s.on('end', () => s.end(`${n} ${h.digest('hex')}`));
  });
  const echo = net.createServer((s) => s.pipe(s));
  sink.listen(0, '127.0.0.1');
  echo.listen(0, '127.0.0.1');
  await Promise.all([once(sink, 'listening'), once(echo, 'listening')]);
  const channel = createChannel({ path: daemon.guestPath }, { guest: 'shm-e2e', channel: 'shm' });
  try {
    await channel.ready;
    assert.equal(channel.kind, 'shm', `not on shared memory: ${channel.shmProblem ?? 'not granted'}`);

    // 24 MiB, several times the ring, in writes of odd sizes so that frames wrap around anywhere.
    const s = connect({ channel, port: (sink.address() as net.AddressInfo).port, host: '127.0.0.1' });
    await once(s, 'connect');
    const h = createHash('sha256');
    let sent = 0;
    for (let i = 0; sent < 24 * 1024 * 1024; i++) {
      const block = Buffer.alloc(65536 + (i % 7) * 1013, i & 0xff);
      block.writeUInt32BE(i, 0);
      h.update(block);
      sent += block.length;
      if (!s.write(block)) await once(s, 'drain');
    }
    s.end();
    let answer = '';
    s.on('data', (c: Buffer) => (answer += c.toString()));
    await once(s, 'end');
    assert.equal(answer, `${sent} ${h.digest('hex')}`);

    const r = connect({ channel, port: (echo.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true });
    await once(r, 'connect');
    for (let i = 0; i < 200; i++) {
      const msg = Buffer.from(`ping ${i} `.padEnd(100, '.'));
      r.write(msg);
      let got = Buffer.alloc(0);
      while (got.length < msg.length) got = Buffer.concat([got, (await once(r, 'data'))[0] as Buffer]);
      assert.ok(got.equals(msg), `round trip ${i}`);
    }
    r.destroy();
    assert.equal(channel.kind, 'shm');
  } finally {
    await channel.close('test over');
    await daemon.close();
    sink.close();
    echo.close();
  }
});

test('a host peer that stops reading holds back none of the guest\'s other sockets, and every byte reaches it later', async () => {
  // A send window far larger than the kernel's socket buffers, so that the daemon's writes to the stalled
  // peer back up while their data is still in the guest's ring.
  const daemon = await startTestDaemon({ maxBufferPerSocket: 32 * 1024 * 1024 });
  let stalled: net.Socket | null = null;
  const received = createHash('sha256');
  let receivedBytes = 0;
  const sink = net.createServer((s) => {
    stalled = s;
    s.pause();
    s.on('data', (c: Buffer) => {
      received.update(c);
      receivedBytes += c.length;
    });
  });
  const echo = net.createServer((s) => s.pipe(s));
  sink.listen(0, '127.0.0.1');
  echo.listen(0, '127.0.0.1');
  await Promise.all([once(sink, 'listening'), once(echo, 'listening')]);
  const channel = createChannel({ path: daemon.guestPath }, { guest: 'shm-stall', channel: 'shm' });
  try {
    await channel.ready;
    assert.equal(channel.kind, 'shm', `not on shared memory: ${channel.shmProblem ?? 'not granted'}`);
    const s = connect({ channel, port: (sink.address() as net.AddressInfo).port, host: '127.0.0.1' });
    await once(s, 'connect');
    const sent = createHash('sha256');
    let sentBytes = 0;
    // 24 MiB without waiting for drain: six times the ring, all queued behind a peer that reads nothing.
    for (let i = 0; sentBytes < 24 * 1024 * 1024; i++) {
      const block = Buffer.alloc(65536, i & 0xff);
      sent.update(block);
      sentBytes += block.length;
      s.write(block);
    }
    await sleep(500);
    const r = connect({ channel, port: (echo.address() as net.AddressInfo).port, host: '127.0.0.1', noDelay: true });
    await Promise.race([once(r, 'connect'), sleep(5000).then(() => assert.fail('connect stuck behind the stalled stream'))]);
    for (let i = 0; i < 20; i++) {
      const msg = Buffer.from(`ping ${i}`.padEnd(64, '.'));
      r.write(msg);
      let got = Buffer.alloc(0);
      const deadline = sleep(5000).then(() => assert.fail(`round trip ${i} stuck behind the stalled stream`));
      while (got.length < msg.length) got = Buffer.concat([got, (await Promise.race([once(r, 'data'), deadline]))[0] as Buffer]);
      assert.ok(got.equals(msg), `round trip ${i}`);
    }
    r.destroy();
    (stalled as net.Socket | null)?.resume();
    s.end();
    for (let t = 0; receivedBytes < sentBytes && t < 200; t++) await sleep(50);
    assert.equal(receivedBytes, sentBytes);
    assert.equal(received.digest('hex'), sent.digest('hex'), 'the stalled stream arrived whole and in order');
    s.destroy();
  } finally {
    await channel.close('test over');
    await daemon.close();
    sink.close();
    echo.close();
  }
});

test('a guest killed mid-stream: its session, host sockets and descriptors are gone within a second', async () => {
  const daemon = await startTestDaemon();
  const conns: net.Socket[] = [];
  const server = net.createServer((c) => conns.push(c));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let child: ChildProcess | null = null;
  try {
    await sleep(50);
    const baseline = fdCount();
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/guest/fixtures/shm-stream-guest.ts'), daemon.guestPath, String((server.address() as net.AddressInfo).port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
    assert.equal(line, 'streaming shm');
    while (conns.length === 0) await sleep(10);
    const conn = conns[0] as net.Socket;
    let received = 0;
    conn.on('data', (c: Buffer) => (received += c.length));
    while (received < 8 * 1024 * 1024) await sleep(10);
    assert.equal(daemon.daemon.guests().length, 1);
    const ended = once(conn, 'end');
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await ended;
    while ((daemon.daemon.guests().length > 0 || fdCount() > baseline + 1) && Date.now() - killedAt < 1000) await sleep(10);
    assert.equal(daemon.daemon.guests().length, 0, 'the session is gone');
    // The accepted host-side connection (the test server's) is ours; the daemon's channel, side socket,
    // doorbell and host socket are closed.
    assert.ok(fdCount() <= baseline + 1, `descriptors: ${fdCount()} after, ${baseline} before`);
  } finally {
    child?.kill('SIGKILL');
    for (const c of conns) c.destroy();
    server.close();
    await daemon.close();
  }
});

test('a daemon stopped with SIGTERM mid-stream: the guest\'s socket fails saying so, the daemon exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-shm-term-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ policy: { rules: [{ action: 'allow', cidr: '127.0.0.1' }] } }));
  const sock = join(dir, 'guest.sock');
  const d = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), '--guest-socket', sock, '--trace-port', '0', '--token-file', join(dir, 'token'), '--config', join(dir, 'config.json')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const conns: net.Socket[] = [];
  const server = net.createServer((c) => {
    conns.push(c);
    c.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let channel: Channel | null = null;
  try {
    await once(createInterface({ input: d.stdout as NodeJS.ReadableStream }), 'line');
    (d.stderr as NodeJS.ReadableStream).resume();
    channel = createChannel({ path: sock }, { guest: 'shm-term', channel: 'shm' });
    await channel.ready;
    assert.equal(channel.kind, 'shm');
    const s = connect({ channel, port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
    await once(s, 'connect');
    const failed = once(s, 'error') as Promise<[NodeJS.ErrnoException]>;
    const block = Buffer.alloc(65536, 5);
    let streaming = true;
    const pump = (): void => {
      while (streaming && s.write(block)) { /* until the window is full */ }
    };
    s.on('drain', pump);
    pump();
    while (conns.length === 0) await sleep(10);
    await sleep(200);
    const exited = once(d, 'exit');
    const t0 = Date.now();
    d.kill('SIGTERM');
    const [err] = await failed;
    streaming = false;
    assert.equal(err.code, 'ECONNRESET');
    assert.match(err.message, /daemon shutting down/);
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 3000, `the daemon took ${Date.now() - t0} ms to exit`);
    assert.ok(channel.closed);
  } finally {
    d.kill('SIGKILL');
    await channel?.close().catch(() => undefined);
    for (const c of conns) c.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
