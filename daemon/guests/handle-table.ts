// A guest's handle table: the host sockets it can name (handles chosen here, 1 up), the ones it closed
// that still write out queued data (lingering), and who waits for a handle to be freed.
import type { SocketInfo } from '../../protocol';
import type { HostHandle } from '../sockets/host-handle';
import type { FdBudget } from '../fd-budget';

export class HandleTable {
  private readonly open = new Map<number, HostHandle>();
  private readonly lingering = new Set<HostHandle>();
  /** Open handles whose descriptor went to the guest (passFd): counted against its cap, not the budget. */
  private readonly passedOn = new Set<HostHandle>();
  private readonly waiters: (() => void)[] = [];
  private nextHandle = 1;

  /** Every handle, open or lingering, holds one descriptor of `fds` (a same-host stream too: kept simple). */
  constructor(private readonly maxSockets: number, private readonly fds: FdBudget) {}

  /** Open and lingering sockets: both count against maxSockets. */
  get count(): number {
    return this.open.size + this.lingering.size;
  }

  get(handle: number): HostHandle | undefined {
    return this.open.get(handle);
  }

  /** Why a new socket would be refused now, or null. */
  refusal(): string | null {
    if (this.count >= this.maxSockets || this.nextHandle > 0xffffffff) return `the guest has ${this.count} sockets open (limit ${this.maxSockets})`;
    if (this.fds.available < 1) return 'the daemon is at its descriptor limit (less its reserve)';
    return null;
  }

  /** Gives a new socket the next handle, or null at maxSockets, at the daemon's descriptor budget (or when handles ran out). */
  adopt<H extends HostHandle>(make: (handle: number) => H): H | null {
    if (this.count >= this.maxSockets || this.nextHandle > 0xffffffff || !this.fds.take()) return null;
    let h: H;
    try {
      h = make(this.nextHandle++);
    } catch (e) {
      this.fds.give();
      throw e;
    }
    this.open.set(h.handle, h);
    return h;
  }

  /** Puts `h` behind its handle; a handle closed meanwhile (while connecting or listening) destroys it. */
  replace(h: HostHandle): void {
    if (this.open.has(h.handle)) this.open.set(h.handle, h);
    else h.destroy();
  }

  /** The guest closed `handle`: its socket closes gracefully, the handle is free at once. */
  close(handle: number): void {
    const h = this.open.get(handle);
    if (!h) return;
    this.open.delete(handle);
    h.close();
    if (!this.lingering.has(h) && !this.passedOn.delete(h)) this.fds.give();
    this.freed();
  }

  /** A socket that closed on its own: its handle is free. */
  forget(handle: number): void {
    const h = this.open.get(handle);
    if (!h) return;
    this.open.delete(handle);
    if (!this.passedOn.delete(h)) this.fds.give();
    this.freed();
  }

  /**
   * The daemon closed its copy of `h`'s descriptor (it went to the guest): the descriptor goes back to
   * the budget now, while the handle stays open and counted against the guest's socket cap.
   */
  descriptorPassed(h: HostHandle): void {
    if (this.open.get(h.handle) !== h || this.passedOn.has(h)) return;
    this.passedOn.add(h);
    this.fds.give();
  }

  whenFree(fn: () => void): void {
    this.waiters.push(fn);
  }

  /** Keeps a closed socket counted until its queued data is out; the result says it is gone. */
  linger(h: HostHandle): () => void {
    this.lingering.add(h);
    return () => {
      if (!this.lingering.delete(h)) return;
      this.fds.give();
      this.freed();
    };
  }

  /** The guest's channel drained: every open socket resumes what it paused for it. */
  resumeAll(): void {
    for (const h of this.open.values()) h.resume();
  }

  infos(): SocketInfo[] {
    return [...this.open.values()].map((h) => h.info());
  }

  /** Destroys every socket at once (the guest is gone); returns how many there were. */
  destroyAll(): number {
    const n = this.count;
    for (const h of this.open.values()) h.destroy();
    for (const h of this.lingering) h.destroy();
    const passed = this.passedOn.size;
    this.open.clear();
    this.lingering.clear();
    this.passedOn.clear();
    this.fds.give(n - passed);
    this.waiters.length = 0;
    return n;
  }

  private freed(): void {
    const fn = this.waiters.shift();
    if (fn) fn();
  }
}
