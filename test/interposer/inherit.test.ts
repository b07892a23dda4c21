// Delegated sockets that other processes inherit, with real programs: Debian's nginx (a master that
// listens, two forked workers that accept with epoll and answer with sendfile) serving 10,000 keep-alive
// requests to a host client through a delegated listen; and an inetd-style service that socat starts by
// fork and exec with the connection as its stdin/stdout, whose socket calls still answer as a TCP socket's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon';
import { writeNginxConf } from '../../lab/run/nginx';
import { RUN_POLICY } from '../../lab/run/run-program';
import { buildPreload, cc, linsockStart, requireProgram, type Started, freePort } from './harness';

const REQUESTS = 10_000;
const CONCURRENCY = 16;
let dir: string;
let daemon: RunningDaemon;
const running: Started[] = [];


interface Reply {
  status: number;
  body: Buffer;
  worker: string;
  reused: boolean;
}

function get(agent: Agent, port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), worker: String(res.headers['x-worker'] ?? ''), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the delegated listen answers on the host (the program is up), or fails with its output. */
async function waitServing(port: number, run: Started): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    assert.ok(run.child.exitCode === null, `linsock run ended early: ${run.output()}`);
    assert.ok(Date.now() < deadline, `nothing listens on 127.0.0.1:${port} after 20 s: ${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether the daemon holds a guest socket bound to `port`: the listen is the daemon's, not the guest's kernel's. */
function daemonListensOn(port: number): boolean {
  return daemon.guests().some((g) => g.sockets.some((s) => (s.local ?? '').endsWith(`:${port}`)));
}

before(async () => {
  requireProgram('nginx', 'nginx');
  requireProgram('socat', 'socat');
  dir = mkdtempSync(join(tmpdir(), 'linsock-inherit-'));
  buildPreload();
  daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: RUN_POLICY });
});

after(async () => {
  for (const r of running) await r.stop();
  await daemon?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('nginx (master + 2 workers, epoll, sendfile) delegated serves 10,000 keep-alive requests from the host', async () => {
  const root = join(dir, 'www');
  mkdirSync(root);
  const small = Buffer.from('hello from a delegated nginx\n');
  const big = randomBytes(256 * 1024); // sendfile, larger than one socketpair write
  writeFileSync(join(root, 'index.html'), small);
  writeFileSync(join(root, 'big.bin'), big);
  const port = await freePort();
  const conf = writeNginxConf({ prefix: join(dir, 'nginx'), root, host: '127.0.0.1', port, workers: 2 });
  const run = linsockStart(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', 'nginx', '-p', join(dir, 'nginx'), '-c', conf]);
  running.push(run);
  await waitServing(port, run);
  assert.ok(daemonListensOn(port), `the daemon holds the listen on ${port}`);

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const workers = new Set<string>();
  let next = 0;
  let fresh = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const path = i % 50 === 0 ? '/big.bin' : '/index.html';
        const r = await get(agent, port, path);
        assert.equal(r.status, 200, `request ${i} (${path})`);
        assert.ok(r.body.equals(path === '/big.bin' ? big : small), `request ${i} (${path}): ${r.body.length} bytes, not the file`);
        workers.add(r.worker);
        if (!r.reused) fresh++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const master = readFileSync(join(dir, 'nginx', 'nginx.pid'), 'utf8').trim();
  agent.destroy();
  console.log(`# nginx delegated: ${REQUESTS} keep-alive requests in ${seconds.toFixed(2)} s = ${Math.round(REQUESTS / seconds)} requests/s over ${fresh} connections, workers ${[...workers].join(', ')}`);
  assert.ok(fresh <= CONCURRENCY, `keep-alive: ${fresh} connections for ${REQUESTS} requests`);
  assert.ok(workers.size >= 1 && ![...workers].includes(''), `the workers answered (X-Worker: ${[...workers].join(', ')})`);
  assert.ok(/^\d+$/.test(master) && !workers.has(master), `forked workers accepted, not the master ${master} that listened (${[...workers].join(', ')})`);
  await run.stop();
  assert.ok(!daemonListensOn(port), 'the listen is gone with nginx');
});

test('an inetd-style service exec\'d by socat on a delegated accept sees a TCP socket and echoes', async () => {
  const bin = join(dir, 'inetd-child');
  cc(['-O2', '-Wall', '-o', bin, join(__dirname, 'inetd-child.c')]);
  const port = await freePort();
  const run = linsockStart(['--path', 'delegated', '--daemon', join(dir, 'guest.sock'), '--', 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `EXEC:${bin},nofork`]);
  running.push(run);
  await waitServing(port, run);
  for (let round = 0; round < 2; round++) {
    const payload = randomBytes(1024 * 1024);
    const got = await new Promise<{ first: string; rest: Buffer; localPort: number }>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      const parts: Buffer[] = [];
      s.on('connect', () => s.end(payload));
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('error', reject);
      s.on('end', () => {
        const all = Buffer.concat(parts);
        const nl = all.indexOf(10);
        resolve({ first: all.subarray(0, nl).toString(), rest: all.subarray(nl + 1), localPort: s.localPort ?? -1 });
      });
    });
    assert.equal(got.first, `peer 127.0.0.1:${got.localPort} self 127.0.0.1:${port} family AF_INET`, run.output());
    assert.ok(got.rest.equals(payload), `round ${round}: echoed ${got.rest.length} of ${payload.length} bytes`);
  }
  await run.stop();
});
