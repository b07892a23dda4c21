// The guest agent: runs inside the VM on the host's own node (over the 9p root), once per VM, and runs
// workloads on command from the host (lab/vm/agent-protocol.ts) — on the delegated path with the guest
// runtime over the channel port (a virtio-serial char device), on the emulated path with node:net on the
// VM's own kernel stack and NIC. Built into one file by lab/vm/agent-bundle.ts; never run on the host.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { directFactory, type SocketFactory } from '../bench/socket-factory';
import { runStream } from '../bench/workloads/stream';
import { runRr } from '../bench/workloads/rr';
import { runCrr } from '../bench/workloads/crr';
import { runUdpRr } from '../bench/workloads/udp-rr';
import { createChannel, connect, createServer, createSocket, type Channel } from '../../guest';
import { startBenchServer, type BenchServer, type CreateTcpServer } from '../bench/server';
import { execProgram, releasePort } from './agent-exec';
import { AGENT_PORT_NAME, CHANNEL_PORT_NAME, MAX_AGENT_LINE, type AgentMessage, type AgentRequest, type VmPath } from './agent-protocol';

const RUNNERS = { stream: runStream, rr: runRr, crr: runCrr, 'udp-rr': runUdpRr } as const;
const PORTS = '/dev/virtio-ports';
/** How long the agent keeps trying to say HELLO to linsockd through the channel port. */
const CHANNEL_WAIT_MS = 20_000;
/** Clock probes after HELLO (see vmChannel). */
const VM_CLOCK_PROBES = 32;

const control = fs.openSync(`${PORTS}/${AGENT_PORT_NAME}`, fs.constants.O_RDWR | fs.constants.O_NOCTTY);

function send(m: AgentMessage): void {
  fs.writeSync(control, `${JSON.stringify(m)}\n`);
}

let channel: Channel | null = null;

/**
 * Whether the port's host side (QEMU's chardev, connected to linsockd) is there. A non-blocking read says
 * it without consuming anything: 0 (EOF) while nobody is connected, EAGAIN when connected and quiet. The
 * channel must not open before: its reads would end at once while its HELLO, blocked in a write until the
 * host connects, would reach the daemon later beside the next attempt's HELLO.
 */
function hostConnected(device: string): boolean {
  const fd = fs.openSync(device, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  try {
    return fs.readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return true;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/** What the host asked the channel to be: its guest name (the VM's) and whether it stamps. */
interface ChannelSettings { guest: string; trace: boolean }

/**
 * The VM's one channel to linsockd, opened when the host asks (op 'channel', which names the guest) and
 * kept for the VM's life: the daemon sees the VM as one guest. Reads on a port whose host side is not
 * connected yet return EOF, so the open is retried until the daemon answers HELLO.
 */
async function vmChannel(settings: ChannelSettings | null): Promise<Channel> {
  if (channel && !channel.closed) return channel;
  if (!settings) throw new Error('the host has not opened the VM\'s channel (op channel) before a delegated run');
  const device = `${PORTS}/${CHANNEL_PORT_NAME}`;
  const deadline = Date.now() + CHANNEL_WAIT_MS;
  let last = '';
  while (Date.now() < deadline) {
    let connected: boolean;
    try {
      connected = hostConnected(device);
    } catch (e) {
      // EBUSY: a failed attempt's fd is still open — its blocking read holds it in the thread pool until
      // the port's host side goes (linsockd cut the connection that refused our HELLO). Wait for that.
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
      last = 'the port is still held by the previous attempt';
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (!connected) {
      last = 'linsockd has not connected the port yet';
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    // With stamps, the daemon gets the guest stages of every call on the VM's clock and maps them onto the
    // host's through HELLO and the clock probes. A round trip through the port under TCG takes
    // milliseconds and varies with the host's load: more probes than the default narrow the error bound
    // (the best round trip's half), for a few tens of ms once per VM.
    const c = createChannel({ device }, { guest: settings.guest, trace: settings.trace, clockProbes: VM_CLOCK_PROBES });
    try {
      await c.ready;
      channel = c;
      return c;
    } catch (e) {
      last = (e as Error).message;
      await c.close('retrying').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`no HELLO from linsockd through ${CHANNEL_PORT_NAME} within ${CHANNEL_WAIT_MS / 1000} s (${last})`);
}

let channelSettings: ChannelSettings | null = null;
/** The bench server this VM serves (inter-guest's guest A), between serve and unserve. */
let served: BenchServer | null = null;

async function factoryFor(path: VmPath): Promise<SocketFactory> {
  if (path === 'emulated') return { ...directFactory(), path: 'emulated' };
  const c = await vmChannel(channelSettings);
  return {
    path: 'delegated',
    connect: (port, host) => new Promise((resolve, reject) => {
      const s = connect({ channel: c, port, host, noDelay: true });
      s.once('error', reject);
      s.once('connect', () => { s.removeListener('error', reject); resolve(s); });
    }),
    udp: (family) => createSocket({ type: family === 6 ? 'udp6' : 'udp4', channel: c }),
    // The channel outlives a workload: it is the VM's.
    close: async () => undefined,
  };
}

async function handle(req: AgentRequest): Promise<void> {
  try {
    if (req.op === 'quit') {
      if (channel) await channel.close('the VM is shutting down').catch(() => undefined);
      send({ id: req.id, ok: true });
      // Not process.exit(): Node joins its thread pool at exit, where the ports' reads block until data
      // comes. Nothing is left to flush; init powers the VM off when the agent is gone.
      process.kill(process.pid, 'SIGKILL');
      return;
    }
    if (req.op === 'channel') {
      channelSettings = { guest: req.guest, trace: req.trace };
      await vmChannel(channelSettings);
      send({ id: req.id, ok: true });
      return;
    }
    if (req.op === 'serve' || req.op === 'unserve') {
      await served?.close();
      served = null;
      if (req.op === 'serve') {
        let create: CreateTcpServer | undefined;
        if (req.path === 'delegated') {
          const c = await vmChannel(channelSettings);
          create = (opts, onConnection) => createServer({ channel: c, allowHalfOpen: opts.allowHalfOpen }, onConnection);
        }
        served = await startBenchServer([req.host], { createServer: create, udp: false });
      }
      send({ id: req.id, ok: true, ...(served ? { served: { sink: served.sink, echo: served.echo } } : {}) });
      return;
    }
    if (req.op === 'exec') {
      const exec = await execProgram(req.argv, req.env, req.timeoutMs);
      if (req.releasePort) releasePort(req.releasePort);
      send({ id: req.id, ok: true, exec });
      return;
    }
    const run = RUNNERS[req.workload];
    if (!run) throw new Error(`unknown workload '${String(req.workload)}'`);
    const factory = await factoryFor(req.path);
    const result = { ...(await run(factory, req.target)), ranIn: `vm (${req.path === 'delegated' ? 'guest runtime over virtio-serial' : 'node:net on the VM kernel and its NIC'})` };
    send({ id: req.id, ok: true, result });
  } catch (e) {
    send({ id: req.id, ok: false, error: (e as Error).message });
  }
}

let buffered = '';
// One request at a time: a workload measures alone.
let queue = Promise.resolve();
const reader = fs.createReadStream('', { fd: control, autoClose: false, encoding: 'utf8' });
reader.on('data', (chunk) => {
  buffered += chunk as string;
  if (buffered.length > MAX_AGENT_LINE) throw new Error('the host sent a line longer than MAX_AGENT_LINE');
  for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line.trim()) continue;
    const req = JSON.parse(line) as AgentRequest;
    queue = queue.then(() => handle(req));
  }
});
// The host went away: nothing more to do in this VM.
reader.on('end', () => process.kill(process.pid, 'SIGKILL'));
send({ ready: { node: process.version, kernel: os.release(), uptimeS: os.uptime() } });
