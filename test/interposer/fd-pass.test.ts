// The passed-descriptor data plane (protocol/README.md, passFd): an unmodified curl and iperf3 delegated
// get their connected host sockets from the daemon, so their data no longer crosses it (its byte counter
// stays put) while policy still decides every connect; LINSOCK_FD_PASS=0 keeps the frames plane (the
// daemon carries every byte). On the wire: only a connected TCP socket is ever passed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon';
import { Capability, WIRE_VERSION, type WireMessage } from '../../protocol';
import { encodeFrameParts, FrameDecoder } from '../../protocol/wire-codec';
import { CURL_FILE_BYTES, sha256File, withHostNginx } from '../../lab/run/curl';
import { countsAgree, parseIperf3 } from '../../lab/run/iperf3';
import { RUN_POLICY } from '../../lab/run/run-program';
import { buildPreload, linsockRun, requireProgram, freePort } from './harness';

let dir: string;
let daemon: RunningDaemon;
const children: ChildProcess[] = [];
/** Control frames (HELLO, connect, close) are all the daemon carries on the passed plane: far below this. */
const CONTROL_BYTES = 1024 * 1024;


before(async () => {
  requireProgram('nginx', 'nginx');
  requireProgram('curl', 'curl');
  requireProgram('iperf3', 'iperf3');
  dir = mkdtempSync(join(tmpdir(), 'linsock-fdpass-'));
  buildPreload();
  daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: RUN_POLICY });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill();
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

const curlArgs = (out: string, url: string) => ['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', 'curl', '-sS', '-o', out, url];

test('curl delegated fetches 64 MiB on the passed plane (sha256 equal, the daemon carries no data) and on frames with LINSOCK_FD_PASS=0', async () => {
  const port = await freePort();
  await withHostNginx(dir, port, async (sha256) => {
    const out = join(dir, 'got');
    let before = daemon.stats().bytes;
    const passed = await linsockRun(curlArgs(out, `http://127.0.0.1:${port}/big`));
    assert.equal(passed.code, 0, passed.stderr);
    assert.equal(await sha256File(out), sha256);
    const carried = daemon.stats().bytes - before;
    assert.ok(carried < CONTROL_BYTES, `the passed plane: the daemon carried ${carried} bytes`);

    rmSync(out);
    before = daemon.stats().bytes;
    const frames = await linsockRun(curlArgs(out, `http://127.0.0.1:${port}/big`), '', { LINSOCK_FD_PASS: '0' });
    assert.equal(frames.code, 0, frames.stderr);
    assert.equal(await sha256File(out), sha256);
    assert.ok(daemon.stats().bytes - before >= CURL_FILE_BYTES, `frames: the daemon carried ${daemon.stats().bytes - before} bytes`);
  });
});

test('policy still decides: a denied connect is refused before anything could be passed', async () => {
  const port = await freePort();
  // RUN_POLICY allows connects to 127.0.0.1 only; 127.0.0.2 is loopback too, but denied.
  const r = await linsockRun(curlArgs(join(dir, 'denied'), `http://127.0.0.2:${port}/`));
  assert.equal(r.code, 7, `curl exits 7 (could not connect): ${r.stderr}`);
});

test('iperf3 -c delegated on the passed plane: its byte counts agree, none of them crossed the daemon', async () => {
  const port = await freePort();
  const server = new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port), '-J'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
  await new Promise((r) => setTimeout(r, 300));
  const before = daemon.stats().bytes;
  const r = await linsockRun(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', 'iperf3', '-c', '127.0.0.1', '-p', String(port), '-t', '1', '-J']);
  assert.equal(r.code, 0, r.stderr);
  const client = parseIperf3(r.stdout);
  assert.equal((await server).code, 0);
  assert.ok(client.sentBytes > CONTROL_BYTES, `iperf3 sent ${client.sentBytes} bytes`);
  assert.ok(countsAgree(client, 32 * 1024 * 1024), `sent ${client.sentBytes}, received ${client.receivedBytes}`);
  const carried = daemon.stats().bytes - before;
  assert.ok(carried < CONTROL_BYTES, `the daemon carried ${carried} of ${client.sentBytes} bytes`);
});

/** A wire-level guest on the daemon's Unix socket: frames out, decoded frames in. */
async function wireGuest(capabilities: number): Promise<{ call: (m: WireMessage) => Promise<WireMessage>; socket: Socket; closed: Promise<void> }> {
  const socket = connect(join(dir, 'guest.sock'));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const decoder = new FrameDecoder({ maxPayload: 256 * 1024 });
  const waiting = new Map<number, (m: WireMessage) => void>();
  socket.on('data', (d: Buffer) => {
    for (const m of decoder.push(d).messages) waiting.get(m.id)?.(m);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const call = (m: WireMessage) => new Promise<WireMessage>((resolve) => {
    waiting.set(m.id, resolve);
    for (const p of encodeFrameParts(m)) socket.write(p);
  });
  const ok = await call({ type: 'hello', id: 1, handle: 0, version: WIRE_VERSION, guest: `fdpass-${capabilities}`, capabilities, maxPayload: 256 * 1024, guestTimeNs: 1 });
  assert.equal(ok.type, 'helloOk');
  if (ok.type === 'helloOk') assert.equal(ok.capabilities & Capability.fdPass, capabilities & Capability.fdPass, 'the daemon offers fdPass on a Unix socket');
  return { call, socket, closed };
}

test('only a connected TCP socket is passed: UDP, unconnected and listening sockets are refused; passFd needs the capability', async () => {
  const g = await wireGuest(Capability.pushData | Capability.fdPass);
  let id = 10;
  const handleOf = async (kind: 'tcp' | 'udp') => {
    const r = await g.call({ type: 'socket', id: id++, handle: 0, family: 4, kind });
    assert.equal(r.type, 'ok');
    return r.type === 'ok' ? r.value : 0;
  };
  const udp = await handleOf('udp');
  assert.equal((await g.call({ type: 'connect', id: id++, handle: udp, remote: { family: 4, address: '127.0.0.1', port: 9 } })).type, 'address');
  const refusedUdp = await g.call({ type: 'passFd', id: id++, handle: udp });
  assert.ok(refusedUdp.type === 'error' && refusedUdp.errno === 'EOPNOTSUPP', JSON.stringify(refusedUdp));
  const fresh = await handleOf('tcp');
  const refusedFresh = await g.call({ type: 'passFd', id: id++, handle: fresh });
  assert.ok(refusedFresh.type === 'error' && refusedFresh.errno === 'EOPNOTSUPP', JSON.stringify(refusedFresh));
  const listener = await handleOf('tcp');
  assert.equal((await g.call({ type: 'bind', id: id++, handle: listener, local: { family: 4, address: '127.0.0.1', port: 0 } })).type, 'address');
  assert.equal((await g.call({ type: 'listen', id: id++, handle: listener, backlog: 4 })).type, 'address');
  const refusedListener = await g.call({ type: 'passFd', id: id++, handle: listener });
  assert.ok(refusedListener.type === 'error' && refusedListener.errno === 'EOPNOTSUPP', JSON.stringify(refusedListener));
  g.socket.destroy();

  const plain = await wireGuest(Capability.pushData);
  for (const p of encodeFrameParts({ type: 'passFd', id: 5, handle: 1 })) plain.socket.write(p);
  await plain.closed; // a protocol violation ends the session
});

test('a passed socket stays counted by the daemon (state passed) until the program closes it', async () => {
  requireProgram('python3', 'python3');
  const server = createServer((c) => c.on('error', () => undefined)).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  // A blocking connect (passed before it returns), held 1.5 s, closed, then 1.5 s more before exiting.
  const script = `import socket,time\ns=socket.create_connection(('127.0.0.1',${port}))\ntime.sleep(1.5)\ns.close()\ntime.sleep(1.5)\n`;
  // The interpreter itself (pyenv's python3 is a shell script, which `linsock run` does not delegate).
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  const run = linsockRun(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', python, '-c', script]);
  // Per sample: the python guest's socket states, or null while it is not connected.
  const states = (): string[] | null => {
    const g = daemon.guests().find((x) => x.name.startsWith('python3'));
    return g ? g.sockets.map((x) => x.state) : null;
  };
  const seen: (string[] | null)[] = [];
  let done = false;
  const finished = run.then((x) => { done = true; return x; });
  while (!done) {
    seen.push(states());
    await new Promise((res) => setTimeout(res, 50));
  }
  const r = await finished;
  server.close();
  assert.equal(r.code, 0, r.stderr);
  const held = seen.findIndex((x) => x?.includes('passed'));
  assert.ok(held >= 0, `the daemon listed the socket as passed: ${JSON.stringify(seen)}`);
  assert.ok(seen.slice(held).some((x) => x !== null && x.length === 0), `the handle went with the program's close, before it exited: ${JSON.stringify(seen)}`);
});
