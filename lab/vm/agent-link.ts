// The host's end of the agent port: a Unix socket QEMU connects to (the chardev behind the VM's
// linsock.agent virtio-serial port). Requests go out one JSON line each; replies come back by id.

import { createServer, type Server, type Socket } from 'node:net';
import type { WorkloadResult } from '../bench/workload-result';
import { MAX_AGENT_LINE, type AgentMessage, type AgentRequest, type ExecResult } from './agent-protocol';

type Body<R> = R extends AgentRequest ? Omit<R, 'id'> : never;
type AgentReady = Extract<AgentMessage, { ready: unknown }>['ready'];
type AgentOk = Extract<AgentMessage, { ok: true }>;

export class AgentLink {
  private socket: Socket | null = null;
  private nextId = 1;
  private buffered = '';
  private readonly pending = new Map<number, { resolve: (r: AgentOk) => void; reject: (e: Error) => void }>();
  private readyWaiters: { resolve: (r: AgentReady) => void; reject: (e: Error) => void }[] = [];
  private readyInfo: AgentReady | null = null;
  private failure: Error | null = null;
  /** What happens when QEMU's end of the port goes away; the machine replaces it to say why. */
  onPortClosed: () => void = () => this.fail(new Error('the VM closed its agent port'));

  private constructor(private readonly server: Server) {}

  /** Listens on `path`; QEMU must be started after this resolves (it connects as a client). */
  static async listen(path: string): Promise<AgentLink> {
    const server = createServer();
    const link = new AgentLink(server);
    server.on('connection', (s) => link.attach(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return link;
  }

  private attach(s: Socket): void {
    // One VM, one connection: a second one is not ours.
    if (this.socket) return void s.destroy();
    this.socket = s;
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => this.onData(chunk));
    s.on('error', () => undefined);
    s.on('close', () => this.onPortClosed());
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    if (this.buffered.length > MAX_AGENT_LINE) return this.fail(new Error(`the guest agent sent a line longer than ${MAX_AGENT_LINE} bytes`));
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      let m: AgentMessage;
      try {
        m = JSON.parse(line) as AgentMessage;
      } catch {
        return this.fail(new Error(`the guest agent sent a line that is not JSON: ${line.slice(0, 80)}`));
      }
      if ('ready' in m) {
        this.readyInfo = m.ready;
        for (const w of this.readyWaiters.splice(0)) w.resolve(m.ready);
        continue;
      }
      const p = this.pending.get(m.id);
      if (!p) continue;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m);
      else p.reject(new Error(m.error));
    }
  }

  /** Resolves when the agent has started in the VM. */
  ready(): Promise<AgentReady> {
    if (this.readyInfo) return Promise.resolve(this.readyInfo);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** A workload's result (op run), or nothing (the other ops). */
  async request(body: Body<AgentRequest>, timeoutMs: number): Promise<WorkloadResult | undefined> {
    return (await this.call(body, timeoutMs)).result;
  }

  /** Runs a program in the VM (op exec); the agent waits for it at most `timeoutMs`, the link a little longer. */
  async exec(body: Omit<Extract<AgentRequest, { op: 'exec' }>, 'id' | 'op'>): Promise<ExecResult> {
    const m = await this.call({ op: 'exec', ...body }, body.timeoutMs + 10_000);
    if (!m.exec) throw new Error('the guest agent answered exec without a result');
    return m.exec;
  }

  /** Starts the bench server in the VM (op serve); its sink and echo ports. */
  async serve(body: Omit<Extract<AgentRequest, { op: 'serve' }>, 'id' | 'op'>, timeoutMs: number): Promise<{ sink: number; echo: number }> {
    const m = await this.call({ op: 'serve', ...body }, timeoutMs);
    if (!m.served) throw new Error('the guest agent answered serve without its ports');
    return m.served;
  }

  private call(body: Body<AgentRequest>, timeoutMs: number): Promise<AgentOk> {
    if (this.failure) return Promise.reject(this.failure);
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('the VM has not connected its agent port'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the guest agent did not answer ${body.op} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  /** Fails everything waiting with `error` (the VM stopped); later calls fail with it too. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const w of this.readyWaiters.splice(0)) w.reject(error);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  close(): Promise<void> {
    this.fail(new Error('the VM is stopping'));
    this.socket?.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
