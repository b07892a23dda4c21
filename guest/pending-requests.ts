// The channel's requests that await their replies: request ids (never one still awaited), each reply
// matched to its request (an error reply, or one of the wrong type, rejects with a Node-style error), and
// every one rejected at once when the channel goes. Apart from the channel, which frames and writes them.

import type { HostReply } from '../protocol';
import { socketError } from './errors';

/** A request on the wire; `enter` and `channelOut` are its guest stamps (0 when not traced). */
export interface Pending {
  resolve: (m: HostReply) => void;
  reject: (e: Error) => void;
  syscall: string;
  enter: number;
  channelOut: number;
}

export type Reply<T extends HostReply['type']> = Extract<HostReply, { type: T }>;

export class PendingRequests {
  private readonly waiting = new Map<number, Pending>();
  private nextId = 1;

  get size(): number {
    return this.waiting.size;
  }

  /** The next frame id, skipping those of requests still awaited (ids wrap at 32 bits). */
  allocId(): number {
    let id = this.nextId;
    while (this.waiting.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    this.nextId = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  /**
   * Awaits the reply to request `id`, expected to be of type `expect`: `resolve` gets it, `reject` an error
   * reply, a reply of another type or the channel's end. Returns the record, for its stamps.
   */
  add<T extends HostReply['type']>(id: number, expect: T, r: {
    resolve: (m: Reply<T>) => void; reject: (e: Error) => void; syscall: string; enter: number; where?: { address?: string; port?: number };
  }): Pending {
    const { resolve, reject, syscall, enter, where } = r;
    const p: Pending = {
      resolve: (m) => {
        if (m.type === 'error') reject(socketError(m.errno, syscall, m.message, where));
        else if (m.type !== expect) reject(socketError('EPROTO', syscall, `host answered ${m.type}, expected ${expect}`, where));
        else resolve(m as Reply<T>);
      },
      reject, syscall, enter, channelOut: 0,
    };
    this.waiting.set(id, p);
    return p;
  }

  /** The request a reply of `id` answers, no longer awaited; undefined when none is. */
  take(id: number): Pending | undefined {
    const p = this.waiting.get(id);
    if (p) this.waiting.delete(id);
    return p;
  }

  /** The channel is gone: every awaited request fails with `err`. */
  rejectAll(err: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const p of all) p.reject(err);
  }
}
