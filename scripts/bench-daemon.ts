// `npm run bench:daemon`: what linsockd itself costs, without the guest library. A bare guest (wire codec
// over the channel) streams through a linsockd process to a server on loopback, and does 1-byte ping-pong;
// the same over a direct TCP socket, interleaved, medians of --runs. Prints one JSON object with --json.
//   --mb N (per stream run, default 512)  --block B (send size, default 65536)  --rr N (round trips, default 5000)
//   --runs N (default 3)  --window B (the daemon's --max-buffer-per-socket, the guest's send window; default the daemon's)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_LIMITS } from '../daemon';
import { Capability, type WireMessage } from '../protocol';
import { encodeFrameParts, encodeMessage, FrameDecoder } from '../protocol/wire-codec';
import { median } from './measure';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const BYTES = opt('mb', 512) * 1024 * 1024;
const BLOCK = opt('block', 65536);
const RR = opt('rr', 5000);
const RUNS = opt('runs', 3);
const WINDOW = opt('window', DEFAULT_LIMITS.maxBufferPerSocket);
const json = argv.includes('--json');
const say = (s: string): void => void (json || console.error(s));

/** A sink that counts bytes and echoes every byte of connections that send exactly one byte at a time. */
async function server(): Promise<{ port: number; close(): void }> {
  const srv = createServer((c) => {
    c.setNoDelay(true);
    c.on('data', (d: Buffer) => {
      if (d.length === 1) c.write(d);
    });
    c.on('end', () => c.end());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as { port: number }).port, close: () => srv.close() };
}

async function directStream(port: number): Promise<number> {
  const s = connect(port, '127.0.0.1');
  const block = Buffer.alloc(BLOCK, 1);
  await new Promise((r) => s.once('connect', r));
  const t0 = process.hrtime.bigint();
  let sent = 0;
  await new Promise<void>((res) => {
    const pump = (): void => {
      while (sent < BYTES) {
        sent += BLOCK;
        if (!s.write(block)) return;
      }
      s.end();
    };
    s.on('drain', pump);
    s.on('close', () => res());
    s.resume();
    pump();
  });
  return BYTES / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6;
}

async function directRr(port: number): Promise<number> {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  const times: number[] = [];
  const one = Buffer.from([7]);
  for (let i = 0; i < RR; i++) {
    const t0 = process.hrtime.bigint();
    s.write(one);
    await new Promise((r) => s.once('data', r));
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  s.destroy();
  return median(times);
}

/** A minimal guest: hello, then requests and pushed events over the channel. */
class Guest {
  private readonly decoder = new FrameDecoder({ maxPayload: 1024 * 1024 });
  private waiting: ((m: WireMessage) => void) | null = null;
  private onCredit: (() => void) | null = null;
  private onData: (() => void) | null = null;
  credit = 0;
  consumed = 0;
  ended = false;
  private id = 1;
  constructor(readonly ch: Socket) {
    ch.on('data', (c: Buffer) => {
      for (const m of this.decoder.push(c).messages) {
        if (m.type === 'credit') {
          this.credit += m.bytes;
          this.onCredit?.();
        } else if (m.type === 'data') {
          // Consumed data is granted back in batches, as the guest library does.
          this.consumed += m.data.length;
          if (this.consumed >= 256 * 1024) {
            this.ch.write(encodeMessage({ type: 'credit', id: 0, handle: m.handle, bytes: this.consumed }));
            this.consumed = 0;
          }
          this.onData?.();
        } else if (m.type === 'peerClosed') {
          this.ended = true;
          this.onData?.();
        } else this.waiting?.(m);
      }
    });
  }
  request(m: Record<string, unknown>): Promise<WireMessage> {
    return new Promise((r) => {
      this.waiting = r;
      this.ch.write(encodeMessage({ ...m, id: this.id++ } as unknown as WireMessage));
    });
  }
  nextId(): number {
    return this.id++;
  }
  waitCredit(): Promise<void> {
    return new Promise((r) => (this.onCredit = () => ((this.onCredit = null), r())));
  }
  waitData(): Promise<void> {
    return new Promise((r) => (this.onData = () => ((this.onData = null), r())));
  }
}

async function guestConnect(path: string, port: number, name: string): Promise<{ g: Guest; handle: number }> {
  const ch = connect(path);
  await new Promise((r) => ch.once('connect', r));
  const g = new Guest(ch);
  const hello = await g.request({ type: 'hello', handle: 0, version: 1, guest: name, capabilities: Capability.pushData, maxPayload: 1024 * 1024, guestTimeNs: 0 });
  if (hello.type !== 'helloOk') throw new Error(`hello refused: ${JSON.stringify(hello)}`);
  g.credit = hello.initialCredit;
  const s = await g.request({ type: 'socket', handle: 0, family: 4, kind: 'tcp' });
  const handle = s.type === 'ok' ? s.value : 0;
  const c = await g.request({ type: 'connect', handle, remote: { family: 4, address: '127.0.0.1', port } });
  if (c.type !== 'address') throw new Error(`connect: ${JSON.stringify(c)}`);
  return { g, handle };
}

async function delegatedStream(path: string, port: number, name: string): Promise<number> {
  const { g, handle } = await guestConnect(path, port, name);
  const block = Buffer.alloc(BLOCK, 1);
  const t0 = process.hrtime.bigint();
  let sent = 0;
  while (sent < BYTES) {
    if (g.credit < BLOCK) {
      await g.waitCredit();
      continue;
    }
    g.ch.cork();
    while (g.credit >= BLOCK && sent < BYTES) {
      for (const p of encodeFrameParts({ type: 'send', id: g.nextId(), handle, noReply: true, data: block })) g.ch.write(p);
      g.credit -= BLOCK;
      sent += BLOCK;
    }
    g.ch.uncork();
    if (g.ch.writableLength > 1024 * 1024) await new Promise((r) => g.ch.once('drain', r));
  }
  await g.request({ type: 'shutdown', handle, how: 'write' });
  while (!g.ended) await g.waitData();
  const mbs = BYTES / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6;
  g.ch.destroy();
  return mbs;
}

async function delegatedRr(path: string, port: number, name: string): Promise<number> {
  const { g, handle } = await guestConnect(path, port, name);
  await g.request({ type: 'setsockopt', handle, option: 'TCP_NODELAY', value: 1 });
  const times: number[] = [];
  const one = Buffer.from([7]);
  for (let i = 0; i < RR; i++) {
    const t0 = process.hrtime.bigint();
    for (const p of encodeFrameParts({ type: 'send', id: g.nextId(), handle, noReply: true, data: one })) g.ch.write(p);
    await g.waitData();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  g.ch.destroy();
  return median(times);
}

const cpuTicks = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(f[11]) + Number(f[12]);
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-daemon-'));
  const srv = await server();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ policy: { rules: [{ action: 'allow', cidr: '127.0.0.1', ports: srv.port }] } }));
  const root = resolve(__dirname, '..');
  const daemon = spawn(process.execPath, ['--import', 'tsx', join(root, 'daemon/cli.ts'), '--guest-socket', join(dir, 'g.sock'), '--trace-port', '0',
    '--token-file', join(dir, 'token'), '--config', join(dir, 'config.json'), '--trace', 'off', '--log-level', 'warn', '--max-buffer-per-socket', String(WINDOW), '--max-buffer-per-guest', String(Math.max(WINDOW * 4, DEFAULT_LIMITS.maxBufferPerGuest))], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((r) => createInterface({ input: daemon.stdout as NodeJS.ReadableStream }).once('line', r));
    const path = join(dir, 'g.sock');
    const direct: number[] = [];
    const delegated: number[] = [];
    const cpu: number[] = [];
    const rrDirect: number[] = [];
    const rrDelegated: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      direct.push(await directStream(srv.port));
      const c0 = cpuTicks(daemon.pid as number);
      const t0 = Date.now();
      delegated.push(await delegatedStream(path, srv.port, `stream-${i}`));
      cpu.push(((cpuTicks(daemon.pid as number) - c0) * 10) / (Date.now() - t0) * 100);
      rrDirect.push(await directRr(srv.port));
      rrDelegated.push(await delegatedRr(path, srv.port, `rr-${i}`));
      say(`run ${i + 1}: stream direct ${direct[i]?.toFixed(0)} MB/s, delegated ${delegated[i]?.toFixed(0)} MB/s (daemon CPU ${cpu[i]?.toFixed(0)}%); rr p50 direct ${rrDirect[i]?.toFixed(1)} us, delegated ${rrDelegated[i]?.toFixed(1)} us`);
    }
    const r = {
      block: BLOCK,
      window: WINDOW,
      stream_direct_mb_per_s: +median(direct).toFixed(1),
      stream_delegated_mb_per_s: +median(delegated).toFixed(1),
      stream_ratio: +(median(delegated) / median(direct)).toFixed(3),
      daemon_cpu_percent: +median(cpu).toFixed(0),
      rr_direct_p50_us: +median(rrDirect).toFixed(1),
      rr_delegated_p50_us: +median(rrDelegated).toFixed(1),
      rr_ratio: +(median(rrDelegated) / median(rrDirect)).toFixed(2),
    };
    console.log(json ? JSON.stringify(r) : r);
  } finally {
    daemon.kill('SIGTERM');
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:daemon: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
