// Every TCP connection of the trace server, so that none can be held for nothing. A connection that has
// not shown the token (a Bearer header on a request or upgrade, or hello on the WebSocket) is closed after
// `unauthenticatedMs` whatever it is doing: sending its headers slowly, idling, or sitting on a WebSocket
// without a hello. At most `maxConnections` are open; a new one over the cap closes the oldest
// unauthenticated one, so that a flood of idle connections cannot keep a real client out: the real client
// authenticates on its first request and is safe from then on.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

interface Tracked {
  authed: boolean;
  timer: NodeJS.Timeout | null;
}

export class ConnectionGuard {
  /** Insertion order is age. */
  private readonly conns = new Map<Socket, Tracked>();
  evicted = 0;

  constructor(
    private readonly maxConnections: number,
    private readonly unauthenticatedMs: number,
  ) {}

  /** Watches `server`'s connections (the raw TCP ones, under TLS too). */
  attach(server: Server): void {
    server.on('connection', (s: Socket) => this.add(s));
  }

  get size(): number {
    return this.conns.size;
  }

  private add(s: Socket): void {
    if (this.conns.size >= this.maxConnections) this.evictOldest();
    const t: Tracked = { authed: false, timer: null };
    t.timer = setTimeout(() => {
      t.timer = null;
      if (!t.authed) s.destroy();
    }, this.unauthenticatedMs);
    t.timer.unref();
    this.conns.set(s, t);
    s.once('close', () => {
      if (t.timer) clearTimeout(t.timer);
      this.conns.delete(s);
    });
  }

  /** The connection showed the token: it is no longer timed or evicted. */
  authenticated(s: Socket | undefined | null): void {
    const t = s ? this.conns.get(s) : undefined;
    if (!t) return;
    t.authed = true;
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
  }

  private evictOldest(): void {
    for (const [s, t] of this.conns) {
      if (t.authed) continue;
      this.evicted++;
      if (t.timer) clearTimeout(t.timer);
      this.conns.delete(s);
      s.destroy();
      return;
    }
  }

  closeAll(): void {
    for (const s of this.conns.keys()) s.destroy();
  }
}
