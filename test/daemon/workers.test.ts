// linsockd --workers 2, as a real process: guests spread over both worker processes and served with
// verified bytes (stream and request/response), trace records from both workers reach one trace client,
// a guest connects to a guest listener in the other worker (through the host kernel), a worker killed
// with SIGKILL mid-run costs only its own guests, and SIGTERM leaves no process behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHostServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { createChannel, createServer, connect, type Channel, type DelegatedSocket } from '../../guest';
import type { CallRecord } from '../../protocol';
import { Policy, startDaemon } from '../../daemon';
import { StreamClient } from '../trace/stream-client';
import { RawGuest } from './raw-guest';

const ROOT = resolve(__dirname, '../..');
const READY = /^linsockd ready trace=(ws:\/\/127\.0\.0\.1:\d+\/trace) guest=(\S+) token-file=(\S+)$/;

interface LogLine {
  msg: string;
  worker?: number;
  pid?: number;
  guest?: string;
  [k: string]: unknown;
}

interface Daemon {
  child: ChildProcess;
  url: string;
  guest: string;
  token: string;
  logs: LogLine[];
}

function startLinsockd(dir: string, workers: number): Promise<Daemon> {
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ policy: { rules: [{ action: 'allow', cidr: ['127.0.0.1'] }] } }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), '--workers', String(workers), '--guest-socket', join(dir, 'guest.sock'),
    '--trace-port', '0', '--token-file', join(dir, 'token'), '--config', config, '--log-level', 'debug'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => logs.push(JSON.parse(l) as LogLine));
  return new Promise((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      const m = READY.exec(line);
      if (!m) return rej(new Error(`not a ready line: ${line}`));
      res({ child, url: m[1] as string, guest: m[2] as string, token: readFileSync(m[3] as string, 'utf8').trim(), logs });
    });
    child.once('exit', (code) => rej(new Error(`linsockd exited ${String(code)} before ready: ${JSON.stringify(logs)}`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Which worker each guest was served by, from the workers' "guest connected" lines. */
function workerOf(d: Daemon, guest: string): number | undefined {
  return d.logs.find((l) => l.msg === 'guest connected' && l.guest === guest)?.worker;
}

function workerPids(d: Daemon): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of d.logs) if (l.msg === 'worker started') out.set(l.worker as number, l.pid as number);
  return out;
}

/** A host echo server (the guests' peer through the daemon). */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createHostServer((s) => {
    s.on('error', () => undefined); // a guest whose worker was killed resets its connection
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function connected(channel: Channel, port: number): Promise<DelegatedSocket> {
  const s = connect({ channel, host: '127.0.0.1', port });
  await once(s, 'connect');
  // Errors are checked where a test expects them (once('error')); a second one (write after the first) is no failure.
  s.on('error', () => undefined);
  return s;
}

/** Sends `data` and reads back exactly as many bytes; resolves with them. */
function roundTrip(s: DelegatedSocket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const on = (c: Buffer): void => {
      parts.push(c);
      got += c.length;
      if (got >= data.length) {
        s.off('data', on);
        s.off('error', reject);
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', on);
    s.once('error', reject);
    s.write(data);
  });
}

/** Request/response: `n` round trips of 64 random bytes, each echoed intact. */
async function rr(s: DelegatedSocket, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const q = randomBytes(64);
    assert.ok((await roundTrip(s, q)).equals(q), `round trip ${i} came back intact`);
  }
}

/** Streams `size` random bytes through the echo and checks they all came back, in order. */
async function stream(s: DelegatedSocket, size: number): Promise<void> {
  const data = randomBytes(size);
  assert.equal(sha(await roundTrip(s, data)), sha(data), 'the stream came back intact');
}

describe('linsockd --workers 2', { timeout: 90_000 }, () => {
  let dir = '';
  let d: Daemon;
  let echo: { server: Server; port: number };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linsockd-workers-'));
    d = await startLinsockd(dir, 2);
    echo = await echoServer();
  });
  after(() => {
    d.child.kill('SIGKILL');
    for (const pid of workerPids(d).values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    echo.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads guests over both workers, serves stream and rr with verified bytes, and streams both workers\' records to one trace client', async () => {
    const pids = workerPids(d);
    assert.equal(pids.size, 2, 'two workers started');
    const client = await StreamClient.open(d.url, { token: d.token });
    client.send({ op: 'subscribe', id: 1, filter: {}, history: false });
    await client.reply(1);
    const names = ['fleet-0', 'fleet-1', 'fleet-2', 'fleet-3'];
    const channels = names.map((guest) => createChannel({ path: d.guest }, { guest }));
    try {
      await Promise.all(channels.map((c) => c.ready));
      await Promise.all(channels.map(async (c) => {
        const a = await connected(c, echo.port);
        const b = await connected(c, echo.port);
        await Promise.all([rr(a, 200), stream(b, 2 * 1024 * 1024)]);
        a.destroy();
        b.destroy();
      }));
      await until(() => names.every((n) => workerOf(d, n) !== undefined), 5000, 'every guest\'s connected line');
      const served = new Set(names.map((n) => workerOf(d, n)));
      assert.deepEqual([...served].sort(), [0, 1], 'both workers served guests');
      // Every guest's records reach the one trace client, from both workers.
      const calls = (): CallRecord[] => client.records.filter((r): r is CallRecord => r.kind === 'call');
      await client.until(() => names.every((n) => calls().some((c) => c.guest === n && c.op === 'recv')), 10_000, 'records of every guest');
      const seqs = calls().map((c) => c.seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'the hub numbers the merged records in one sequence');
      assert.ok(!client.records.some((r) => r.kind === 'dropped'), 'nothing dropped at this rate');
    } finally {
      client.close();
      await Promise.all(channels.map((c) => c.close()));
    }
  });

  it('joins a guest to a guest listener in the other worker through the host kernel, bytes intact', async () => {
    const a = createChannel({ path: d.guest }, { guest: 'inter-a' });
    await a.ready;
    const b = createChannel({ path: d.guest }, { guest: 'inter-b' });
    await b.ready;
    try {
      await until(() => workerOf(d, 'inter-a') !== undefined && workerOf(d, 'inter-b') !== undefined, 5000, 'connected lines');
      assert.notEqual(workerOf(d, 'inter-a'), workerOf(d, 'inter-b'), 'the two guests are served by different workers');
      const server = createServer({ channel: a });
      server.on('error', () => undefined);
      const accepted = once(server, 'connection').then(([s]) => s as DelegatedSocket);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      const client = await connected(b, port);
      const conn = await accepted;
      conn.on('data', (x: Buffer) => conn.write(x));
      await rr(client, 50);
      await stream(client, 1024 * 1024);
      client.destroy();
      conn.destroy();
      server.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a worker killed mid-run closes only its own guests\' channels, is logged and replaced; the other worker keeps serving', async () => {
    const names = ['victim-0', 'victim-1'];
    const channels = names.map((guest) => createChannel({ path: d.guest }, { guest }));
    for (const c of channels) await c.ready;
    await until(() => names.every((n) => workerOf(d, n) !== undefined), 5000, 'connected lines');
    const [w0, w1] = names.map((n) => workerOf(d, n) as number);
    assert.notEqual(w0, w1, 'one guest in each worker');
    const doomed = workerPids(d).get(w0 as number) as number;
    const sockets = await Promise.all(channels.map((c) => connected(c, echo.port)));
    const [victim, survivor] = sockets as [DelegatedSocket, DelegatedSocket];
    const victimDone = new Promise<string>((resolve) => {
      victim.once('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      victim.once('close', () => resolve('close'));
    });
    // The victim streams while its worker dies; the survivor keeps doing round trips throughout.
    const victimStream = stream(victim, 64 * 1024 * 1024).then(() => 'finished', (e: Error) => `failed: ${e.message}`);
    await sleep(100);
    process.kill(doomed, 'SIGKILL');
    const outcome = await Promise.race([victimDone, sleep(5000).then(() => 'nothing within 5 s')]);
    assert.match(outcome, /^(error|close)/, `the victim's socket ended (${outcome})`);
    assert.notEqual(await victimStream, 'finished', 'the victim did not get its whole stream');
    await rr(survivor, 100);
    await until(() => d.logs.some((l) => l.msg === 'worker died: its guests lost their channel' && l.pid === doomed), 5000, 'the death logged');
    const died = d.logs.find((l) => l.msg === 'worker died: its guests lost their channel') as LogLine;
    assert.deepEqual(died.guests, ['victim-0']);
    assert.equal(alive(doomed), false);
    // A replacement takes the dead worker's number; a new guest (with the dead guest's name, released) is served.
    await until(() => workerPids(d).get(w0 as number) !== doomed, 5000, 'a replacement worker');
    const again = createChannel({ path: d.guest }, { guest: 'victim-0' });
    try {
      await again.ready;
      await rr(await connected(again, echo.port), 20);
    } finally {
      await again.close();
      survivor.destroy();
      await Promise.all(channels.map((c) => c.close().catch(() => undefined)));
    }
  });

  it('stops on SIGTERM with goodbye to guests, exit 0 and no worker process left', async () => {
    const g = createChannel({ path: d.guest }, { guest: 'last' });
    await g.ready;
    const pids = [...workerPids(d).values()].filter(alive);
    assert.equal(pids.length, 2, 'two workers alive');
    const exited = once(d.child, 'exit');
    d.child.kill('SIGTERM');
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    await until(() => pids.every((p) => !alive(p)), 3000, 'every worker gone');
    await g.close().catch(() => undefined);
  });
});

describe('linsockd --workers 2 killed with SIGKILL', { timeout: 60_000 }, () => {
  it('leaves no worker behind: each sees its channel to the main process close and exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linsockd-workers-kill-'));
    const d = await startLinsockd(dir, 2);
    try {
      const g = createChannel({ path: d.guest }, { guest: 'orphan-check' });
      await g.ready;
      const pids = [...workerPids(d).values()];
      assert.equal(pids.filter(alive).length, 2);
      const closed = new Promise<void>((r) => g.once('close', () => r()));
      d.child.kill('SIGKILL');
      await until(() => pids.every((p) => !alive(p)), 3000, 'both workers gone');
      // The guest's channel lived in a worker: it closes when that worker goes.
      await Promise.race([closed, sleep(3000).then(() => Promise.reject(new Error('the guest channel did not close')))]);
    } finally {
      d.child.kill('SIGKILL');
      for (const pid of workerPids(d).values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('limits and policy across workers (startDaemon with workers: 2)', { timeout: 60_000 }, () => {
  it('holds the global guest cap, the per-peer cap and unique names across both workers, and refuses a guest cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linsockd-workers-caps-'));
    const d = await startDaemon({ guestSocket: join(dir, 'g.sock'), workers: 2, limits: { maxGuests: 3 } });
    const guests: RawGuest[] = [];
    try {
      for (const n of ['cap-0', 'cap-1', 'cap-2']) guests.push(await RawGuest.open(d.guestPath as string, n));
      assert.equal(d.workerPids().length, 2);
      const refused = (name: string): Promise<string> => RawGuest.open(d.guestPath as string, name).then(
        (g) => (guests.push(g), 'granted'),
        (e: { reply?: { errno?: string } }) => e.reply?.errno ?? 'no reply',
      );
      assert.equal(await refused('cap-3'), 'ENFILE', 'a fourth guest is over maxGuests, whichever worker would take it');
      const left = guests.shift() as RawGuest;
      left.close();
      await until(() => d.guests().length === 2, 3000, 'the name released');
      // The name taken in one worker is refused in the other.
      assert.equal(await refused('cap-1'), 'EADDRINUSE');
      assert.equal(await refused('cap-0'), 'granted', 'a name freed by a guest that left is granted again');
    } finally {
      for (const g of guests) g.close();
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const dir2 = mkdtempSync(join(tmpdir(), 'linsockd-workers-peer-'));
    const d2 = await startDaemon({ guestSocket: join(dir2, 'g.sock'), workers: 2, limits: { maxGuestsPerPeer: 2 } });
    const mine: RawGuest[] = [];
    try {
      for (const n of ['peer-0', 'peer-1']) mine.push(await RawGuest.open(d2.guestPath as string, n));
      await assert.rejects(RawGuest.open(d2.guestPath as string, 'peer-2'), (e: { reply?: { errno?: string } }) => e.reply?.errno === 'ENFILE');
    } finally {
      for (const g of mine) g.close();
      await d2.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  it('applies the policy in every worker, runtime rules included, before connect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'linsockd-workers-policy-'));
    const policy = Policy.fromConfig({});
    const d = await startDaemon({ guestSocket: join(dir, 'g.sock'), workers: 2, policy });
    const srv = await echoServer();
    const guests: RawGuest[] = [];
    try {
      for (const n of ['pol-0', 'pol-1']) guests.push(await RawGuest.open(d.guestPath as string, n));
      const errno = async (g: RawGuest): Promise<string> => {
        const { reply } = await g.connectTo({ family: 4, address: '127.0.0.1', port: srv.port });
        return reply.type === 'error' ? reply.errno : reply.type;
      };
      for (const g of guests) assert.equal(await errno(g), 'EACCES', 'host loopback is closed by default in each worker');
      const undo = policy.addRule({ action: 'allow', ops: ['connect'], cidr: '127.0.0.1', ports: srv.port });
      await sleep(100); // the rule travels to the workers over their IPC channels
      for (const g of guests) assert.equal(await errno(g), 'address', 'the runtime rule is in force in each worker');
      undo();
      await sleep(100);
      for (const g of guests) assert.equal(await errno(g), 'EACCES', 'and gone again once removed');
    } finally {
      for (const g of guests) g.close();
      srv.server.close();
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
