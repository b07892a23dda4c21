// Guest connections that have not said HELLO yet. They hold no guest slot, and they cannot pile up: at
// most `perPeer` per peer (a Unix peer's uid from SO_PEERCRED, a TCP peer's address) and `total` in all.
// A new connection over either cap pushes out the oldest waiting one (of its own peer first), so that
// a flood of idle connections costs its sender its own old connections and never locks out a real guest,
// which sends HELLO as soon as it connects. Each also times out fast (guest-session.ts).

export interface Waiting {
  /** Closes a connection pushed out before its HELLO. */
  evict(reason: string): void;
}

export class PendingHellos<T extends Waiting> {
  /** Insertion order is age: the first entry is the oldest. */
  private readonly all = new Map<T, string>();
  private readonly byPeer = new Map<string, Set<T>>();

  constructor(private readonly perPeer: number, private readonly total: number) {}

  get size(): number {
    return this.all.size;
  }

  add(c: T, peer: string): void {
    const mine = this.byPeer.get(peer) ?? new Set<T>();
    this.byPeer.set(peer, mine);
    if (mine.size >= this.perPeer) this.evict(mine.values().next().value as T, `more than ${this.perPeer} connections of one peer waiting for hello`);
    if (this.all.size >= this.total) this.evict(this.all.keys().next().value as T, `more than ${this.total} connections waiting for hello`);
    this.all.set(c, peer);
    mine.add(c);
  }

  /** The connection said HELLO or closed. */
  remove(c: T): void {
    const peer = this.all.get(c);
    if (peer === undefined) return;
    this.all.delete(c);
    const mine = this.byPeer.get(peer);
    mine?.delete(c);
    if (mine && mine.size === 0) this.byPeer.delete(peer);
  }

  private evict(c: T, reason: string): void {
    this.remove(c);
    c.evict(reason);
  }
}
