// `linsock run` with the interposer, on real processes: curl and a C client run unmodified in a namespace
// with only `lo`, their sockets delegated to a daemon of this process (or the run's own daemon).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon';
import { buildPreload, cc, linsockRun, requireProgram } from './harness';

const FILE_BYTES = 32 * 1024 * 1024;
/** The frames plane: the daemon carries the data (fd-pass.test.ts covers the passed plane). */
const FRAMES = { LINSOCK_FD_PASS: '0' };
let dir: string;
let daemon: RunningDaemon;
let http: HttpServer;
let httpPort: number;
let echo: Server;
let echoPort: number;
let file: Buffer;
/** What the daemon held when the HTTP request came: the proof that the connection is the daemon's. */
const seenAtServer: { remotePort: number; daemonLocalPorts: number[] }[] = [];

function listen(s: Server | HttpServer): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linsock-interposer-'));
  requireProgram('curl', 'curl');
  buildPreload(); // the interposer from the current sources
  daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: { rules: [{ action: 'allow', ops: ['connect'], cidr: '127.0.0.1' }] } });
  file = randomBytes(FILE_BYTES);
  http = createHttpServer((req, res) => {
    const ports = daemon.guests().flatMap((g) => g.sockets.map((s) => Number(/:(\d+)$/.exec(s.local ?? '')?.[1])));
    seenAtServer.push({ remotePort: req.socket.remotePort ?? -1, daemonLocalPorts: ports });
    res.setHeader('content-length', String(file.length));
    res.end(file);
  });
  httpPort = await listen(http);
  echo = createServer((s) => s.pipe(s));
  echoPort = await listen(echo);
});

after(async () => {
  http?.close();
  echo?.close();
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('curl fetches a 32 MiB file delegated on the frames plane (LINSOCK_FD_PASS=0), through the daemon, byte for byte', async () => {
  const out = join(dir, 'out');
  const bytesBefore = daemon.stats().bytes;
  const r = await linsockRun(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', 'curl', '-sS', '-o', out, `http://127.0.0.1:${httpPort}/file`], '', FRAMES);
  assert.equal(r.code, 0, r.stderr);
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  assert.equal(sha(readFileSync(out)), sha(file));
  assert.ok(daemon.stats().bytes - bytesBefore >= FILE_BYTES, `the daemon carried ${daemon.stats().bytes - bytesBefore} bytes`);
  const seen = seenAtServer.at(-1);
  assert.ok(seen, 'the server saw the request');
  assert.ok(seen.daemonLocalPorts.includes(seen.remotePort), `the server's peer port ${seen.remotePort} is a socket of the daemon (${seen.daemonLocalPorts.join(', ')})`);
});

test('a delegated connect the policy denies fails as EACCES in curl (the run hosts its own daemon)', async () => {
  const r = await linsockRun(['--path', 'delegated', '--', 'curl', '-sS', '-v', '-o', '/dev/null', `http://127.0.0.2:${httpPort}/file`]);
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /Permission denied/);
});

test('a C client with non-blocking connect, poll and an echo of 4 MiB works delegated', async () => {
  const bin = join(dir, 'echo-client');
  cc(['-O2', '-Wall', '-o', bin, join(__dirname, 'echo-client.c')]);
  const r = await linsockRun(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', bin, '127.0.0.1', String(echoPort), String(4 * 1024 * 1024)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /echoed 4194304 bytes from AF_INET/);
});

test('a statically linked program is refused with one clear line and exit 1', async () => {
  const srcFile = join(dir, 'static.c');
  writeFileSync(srcFile, 'int main(void) { return 0; }\n');
  const bin = join(dir, 'static-bin');
  cc(['-static', '-o', bin, srcFile]);
  const r = await linsockRun(['--path', 'delegated', '--', bin]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /statically linked.*cannot run delegated/);
});

test('the exit code comes back; direct runs on the host', async () => {
  assert.equal((await linsockRun(['--path', 'delegated', '--', 'sh', '-c', 'exit 7'])).code, 7);
  const direct = await linsockRun(['--path', 'direct', '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${httpPort}/file`]);
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(direct.stdout, '200');
});
