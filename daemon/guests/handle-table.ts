// A guest's handle table: the host sockets it can name (handles chosen here, 1 up), the ones it closed
// that still write out queued data (lingering), and who waits for a handle to be freed.
import type { SocketInfo } from '../../protocol';
import type { HostHandle } from '../sockets/host-handle';

export class HandleTable {
  private readonly open = new Map<number, HostHandle>();
  private readonly lingering = new Set<HostHandle>();
  private readonly waiters: (() => void)[] = [];
  private nextHandle = 1;

  constructor(private readonly maxSockets: number) {}

  /** Open and lingering sockets: both count against maxSockets. */
  get count(): number {
    return this.open.size + this.lingering.size;
  }

  get(handle: number): HostHandle | undefined {
    return this.open.get(handle);
  }

  /** Gives a new socket the next handle, or null at maxSockets (or when handles ran out). */
  adopt<H extends HostHandle>(make: (handle: number) => H): H | null {
    if (this.count >= this.maxSockets || this.nextHandle > 0xffffffff) return null;
    const h = make(this.nextHandle++);
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
    this.freed();
  }

  /** A socket that closed on its own: its handle is free. */
  forget(handle: number): void {
    if (this.open.delete(handle)) this.freed();
  }

  whenFree(fn: () => void): void {
    this.waiters.push(fn);
  }

  /** Keeps a closed socket counted until its queued data is out; the result says it is gone. */
  linger(h: HostHandle): () => void {
    this.lingering.add(h);
    return () => {
      if (this.lingering.delete(h)) this.freed();
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
    this.open.clear();
    this.lingering.clear();
    this.waiters.length = 0;
    return n;
  }

  private freed(): void {
    const fn = this.waiters.shift();
    if (fn) fn();
  }
}
