// A small trace-stream client for tests: connects with ws, collects JSON replies and decoded chunks.

import WebSocket from 'ws';
import type { ServerMessage, TraceRecord } from '../../protocol';
import { decodeChunk } from '../../protocol';

export class StreamClient {
  readonly messages: ServerMessage[] = [];
  readonly records: TraceRecord[] = [];
  chunks = 0;
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const { records, error } = decodeChunk(new Uint8Array(data as Buffer));
        if (error) throw error;
        this.chunks++;
        for (const r of records) this.records.push(r);
      } else this.messages.push(JSON.parse(String(data)) as ServerMessage);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static open(url: string, opts: { token?: string; origin?: string } = {}): Promise<StreamClient> {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
    const ws = new WebSocket(url, { headers, ...(opts.origin ? { origin: opts.origin } : {}) });
    const client = new StreamClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(req: unknown): void {
    this.ws.send(typeof req === 'string' ? req : JSON.stringify(req));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond` holds, checked after every message; rejects after `ms`. */
  until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  async reply(id: number, ms = 5000): Promise<ServerMessage> {
    const find = (): ServerMessage | undefined => this.messages.find((m) => 'id' in m && m.id === id);
    await this.until(() => find() !== undefined, ms, `a reply to request ${id}`);
    return find() as ServerMessage;
  }

  /** The hello reply (it carries no request id). */
  async hello(ms = 5000): Promise<ServerMessage> {
    await this.until(() => this.messages.some((m) => m.type === 'hello'), ms, 'the hello reply');
    return this.messages.find((m) => m.type === 'hello') as ServerMessage;
  }

  close(): void {
    this.ws.terminate();
  }
}
