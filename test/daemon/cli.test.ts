// The linsockd process: its ready line, JSON logs, a killed guest leaving no host socket open (the daemon's
// fds, counted in /proc), and SIGTERM saying goodbye and exiting 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { RawGuest } from './raw-guest';
import { eventually, tcpServer } from './harness';

const ROOT = resolve(__dirname, '../..');
const READY = /^linsockd ready trace=ws:\/\/127\.0\.0\.1:(\d+)\/trace guest=(\S+) token-file=(\S+)$/;

interface Daemon {
  child: ChildProcess;
  ready: string;
  stderr: string[];
}

function startCli(args: string[]): Promise<Daemon> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  return new Promise((res, rej) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (ready) => res({ child, ready, stderr }));
    child.once('exit', (code) => rej(new Error(`linsockd exited ${code} before ready: ${stderr.join('\n')}`)));
  });
}

/** Descriptors of the daemon and of its worker processes (linsockd --workers: guests' sockets live there). */
function fdCount(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no children file: a single process
  }
  return [pid, ...children].reduce((n, p) => n + readdirSync(`/proc/${p}/fd`).length, 0);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('linsockd command line', { timeout: 30000 }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'linsockd-cli-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ policy: { rules: [{ action: 'allow', cidr: '127.0.0.1' }] } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one ready line, logs JSON, closes a killed guest\'s host sockets within a second, and exits 0 on SIGTERM with goodbye', async () => {
    const sock = join(dir, 'guest.sock');
    const d = await startCli(['--guest-socket', sock, '--trace-port', '0', '--token-file', join(dir, 'token'), '--config', join(dir, 'config.json')]);
    const srv = await tcpServer();
    let guestProc: ChildProcess | null = null;
    try {
      const m = READY.exec(d.ready);
      assert.ok(m, `ready line: ${d.ready}`);
      assert.equal(m[2], sock);
      assert.equal(m[3], join(dir, 'token'));
      const pid = d.child.pid as number;
      const started = fdCount(pid);
      // The trace stream's hello names this daemon instance (pid and start), so a client can tell a restart.
      const ws = new WebSocket(`ws://127.0.0.1:${m[1]}/trace`, { headers: { Authorization: `Bearer ${readFileSync(m[3], 'utf8').trim()}` } });
      await once(ws, 'open');
      ws.send(JSON.stringify({ op: 'hello', id: 1, protocol: 1, client: 'cli test' }));
      const [hello] = (await once(ws, 'message')) as [Buffer];
      ws.close();
      assert.match((JSON.parse(hello.toString()) as { daemon: string }).daemon, new RegExp(`^linsockd pid=${pid} start=\\d{4}-\\d\\d-\\d\\dT`));
      // The baseline once the trace client's connection is closed at the daemon's end too (a fixed pause
      // was not always enough on a loaded machine: the count below then came out one short).
      const baseline = await eventually('the daemon\'s descriptors back to their count before the trace client', () => fdCount(pid), (n) => n <= started);

      guestProc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/daemon/fixtures/stream-guest.ts'), sock, String(srv.port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const gp = guestProc;
      await Promise.race([
        once(createInterface({ input: gp.stdout as NodeJS.ReadableStream }), 'line'),
        once(gp, 'exit').then(([code]) => Promise.reject(new Error(`the guest process exited (${String(code)}) before streaming`))),
      ]);
      const conn = await srv.next();
      await srv.next();
      let received = 0;
      conn.on('data', (c: Buffer) => (received += c.length));
      while (received < 4 * 1024 * 1024) await sleep(20);
      assert.ok(fdCount(pid) >= baseline + 3, 'the guest channel and two host sockets are open');
      const ended = Promise.all(srv.conns.map((c) => once(c, 'end')));

      guestProc.kill('SIGKILL');
      const killedAt = Date.now();
      await ended;
      while (fdCount(pid) > baseline && Date.now() - killedAt < 1000) await sleep(20);
      const took = Date.now() - killedAt;
      assert.equal(fdCount(pid), baseline, `fds after the guest was killed (${took} ms)`);
      assert.ok(took < 1000, `host sockets closed after ${took} ms`);

      // A guest that is connected when the daemon is told to stop hears goodbye; the daemon exits 0.
      const g = await RawGuest.open(sock, 'bystander');
      const exited = once(d.child, 'exit');
      d.child.kill('SIGTERM');
      await g.waitFor((x) => x.type === 'goodbye', 3000, 'goodbye');
      await g.waitEnd(3000);
      const [code] = await exited;
      assert.equal(code, 0);
      assert.equal(existsSync(sock), false, 'the guest socket file is removed');

      const logs = d.stderr.map((l) => JSON.parse(l) as { t: string; level: string; msg: string });
      assert.ok(logs.length > 0 && logs.every((l) => typeof l.t === 'string' && typeof l.level === 'string' && typeof l.msg === 'string'));
      assert.ok(logs.some((l) => l.msg === 'guest disconnected'));
    } finally {
      guestProc?.kill('SIGKILL');
      d.child.kill('SIGKILL');
      await srv.close();
    }
  });

  it('exits 0 within 2 s of SIGTERM while a guest streams both ways with full windows', async () => {
    const sock = join(dir, 'guest-busy.sock');
    const d = await startCli(['--guest-socket', sock, '--trace-port', '0', '--token-file', join(dir, 'token'), '--config', join(dir, 'config.json')]);
    const srv = await tcpServer();
    let guestProc: ChildProcess | null = null;
    try {
      guestProc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/daemon/fixtures/stuck-guest.ts'), sock, String(srv.port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      const gp = guestProc;
      await Promise.race([
        once(createInterface({ input: gp.stdout as NodeJS.ReadableStream }), 'line'),
        once(gp, 'exit').then(([code]) => Promise.reject(new Error(`the guest process exited (${String(code)}) before streaming`))),
      ]);
      // The server reads nothing and floods the guest, which reads nothing either: full windows both ways.
      const conn = await srv.next();
      conn.pause();
      conn.on('error', () => undefined);
      const flood = Buffer.alloc(1024 * 1024, 9);
      for (let i = 0; i < 32; i++) conn.write(flood);
      await sleep(500);
      const exited = once(d.child, 'exit');
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      const [code] = await Promise.race([exited, sleep(5000).then(() => [null])]);
      const took = Date.now() - t0;
      assert.equal(code, 0, `linsockd exit code after SIGTERM (${took} ms)`);
      assert.ok(took < 2000, `linsockd took ${took} ms to exit`);
      process.stderr.write(`# SIGTERM to exit: ${took} ms\n`);
    } finally {
      guestProc?.kill('SIGKILL');
      d.child.kill('SIGKILL');
      await srv.close();
    }
  });

  it('refuses bad flags with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), '--max-sockets', 'lots'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(err, /--max-sockets expects an integer of at least 1, got 'lots'/);
  });

  it('--check-config prints the effective rules, yours first, then the defaults, and the limits; a bad file exits 2', async () => {
    const file = join(dir, 'check.json');
    writeFileSync(file, JSON.stringify({ policy: { rules: [{ action: 'allow', ops: ['sendto'], cidr: '239.1.2.0/24', ports: 5000 }] }, limits: { maxSockets: 64 } }));
    const run = async (f: string): Promise<{ code: number; out: string; err: string }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), '--check-config', f], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      return { code, out, err };
    };
    const ok = await run(file);
    assert.equal(ok.code, 0, ok.err);
    const lines = ok.out.split('\n');
    assert.equal(lines[2], '  rule 1: allow sendto to 239.1.2.0/24, port 5000');
    assert.match(ok.out, /default: multicast and broadcast: deny connect,sendto to 224\.0\.0\.0\/4, ff00::\/8, 255\.255\.255\.255\/32, this host's subnet broadcast addresses, any port/);
    assert.match(ok.out, /maxSockets: 64\n/);
    assert.match(ok.out, /maxGuests: 256 \(default\)/);
    writeFileSync(file, JSON.stringify({ policy: { rules: [{ action: 'allow', ops: ['dance'] }] } }));
    const bad = await run(file);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /policy rule 1: ops must be a list of connect, sendto, listen, bind/);
  });
});
