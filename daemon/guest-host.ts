// The guests one event loop serves: their sessions, the descriptor budget their channels take from, and
// the figures the daemon reports about them. linsockd with one worker (index.ts) runs one of these behind
// its listeners; with --workers W each worker process runs one (workers/worker-main.ts) for the guests the
// main process hands it. Who may take a guest name is the NameGate's call: this loop's own table, or the
// main process's verdict that came with the connection.
import type { Socket } from 'node:net';
import type { ErrnoName, GuestInfo } from '../protocol';
import { GuestSession, type GuestRegistry } from './guests/guest-session';
import type { ClockMapping } from './guests/guest-clock';
import { BusyPoll, DEFAULT_BUSY_POLL_US, type BusyPollStats } from './channel/busy-poll';
import { deepenSendBuffer } from './channel/send-buffer';
import type { Counters } from './sockets/session-context';
import type { Limits } from './limits';
import type { Logger } from './log';
import { LogLimit } from './log-limit';
import type { Policy } from './policy/policy';
import type { TraceSink } from './trace/trace-sink';
import { SameHostTable } from './sockets/same-host-table';
import type { FdBudget } from './fd-budget';
import { PendingHellos } from './channel/pending-hellos';

/** Guest connections past the descriptor budget that are still answered (ENFILE) rather than cut off. */
const MAX_OVERDRAFT = 8;
/**
 * How long a stopping daemon lets each guest channel flush its goodbye. A guest that does not read (full
 * window) is cut after it: stopping must not wait on guests.
 */
export const SHUTDOWN_GRACE_MS = 300;
/** Guests that left whose last clock error is still reported. */
const PAST_CLOCK_ERRORS = 256;

/** Who may hold a guest name: null grants it, an errno refuses the guest. */
export interface NameGate {
  claim(name: string, s: GuestSession): ErrnoName | null;
  /** The guest that held `name` left. */
  release(name: string, s: GuestSession): void;
  /** This loop refused a guest whose name the gate may have granted elsewhere (at its descriptor limit). */
  refusedHere?(name: string, s: GuestSession): void;
}

/** The single-process gate: unique names, the global guest cap and the per-peer cap, all in this loop. */
export class LocalNames implements NameGate {
  readonly names = new Map<string, GuestSession>();
  private readonly perPeer = new Map<string, number>();
  constructor(private readonly limits: Limits) {}

  claim(name: string, s: GuestSession): ErrnoName | null {
    if (this.names.has(name)) return 'EADDRINUSE';
    if (this.names.size >= this.limits.maxGuests || (this.perPeer.get(s.peer) ?? 0) >= this.limits.maxGuestsPerPeer) return 'ENFILE';
    this.names.set(name, s);
    this.perPeer.set(s.peer, (this.perPeer.get(s.peer) ?? 0) + 1);
    return null;
  }

  release(name: string, s: GuestSession): void {
    if (this.names.get(name) !== s) return;
    this.names.delete(name);
    const n = (this.perPeer.get(s.peer) ?? 1) - 1;
    if (n > 0) this.perPeer.set(s.peer, n);
    else this.perPeer.delete(s.peer);
  }
}

export interface GuestHostOptions {
  limits: Limits;
  policy: Policy;
  sink: TraceSink;
  log: Logger;
  gate: NameGate;
  fds: FdBudget;
  run: string;
  busyPollUs?: number;
  sameHostShortcut?: boolean;
  /** Cap connections waiting for HELLO here (the single-process daemon); a worker gets them with HELLO read. */
  pendingHellos: boolean;
}

export interface HostFigures {
  counters: Counters;
  guests: number;
  sockets: number;
}

export class GuestHost {
  readonly counters: Counters = { calls: 0, bytes: 0, errors: 0, drops: 0 };
  readonly sessions = new Set<GuestSession>();
  /** Guests that hold their name (said HELLO and were granted it). */
  readonly live = new Map<string, GuestSession>();
  readonly busyPoll: BusyPoll;
  readonly limitedLog: LogLimit;
  private readonly pastClocks = new Map<string, ClockMapping>();
  private readonly pastDisorder = new Map<string, number>();
  private readonly sameHost: SameHostTable | null;
  private readonly pending: PendingHellos<GuestSession> | null;
  private readonly registry: GuestRegistry;
  private overdraft = 0;
  private readonly overdrawn = new WeakSet<GuestSession>();
  closing = false;

  constructor(private readonly o: GuestHostOptions) {
    this.limitedLog = new LogLimit(o.log);
    this.busyPoll = new BusyPoll(o.busyPollUs ?? DEFAULT_BUSY_POLL_US);
    this.sameHost = o.sameHostShortcut === false ? null : new SameHostTable();
    this.pending = o.pendingHellos ? new PendingHellos<GuestSession>(o.limits.maxPendingHellosPerPeer, o.limits.maxPendingHellos) : null;
    this.registry = {
      claim: (name, s) => {
        this.pending?.remove(s);
        if (this.overdrawn.has(s)) {
          o.gate.refusedHere?.(name, s);
          return 'ENFILE';
        }
        const refused = o.gate.claim(name, s);
        if (refused) return refused;
        this.live.set(name, s);
        return null;
      },
      release: (s) => this.release(s),
    };
  }

  private release(s: GuestSession): void {
    if (this.live.get(s.guest) === s) this.live.delete(s.guest);
    this.o.gate.release(s.guest, s);
    const m = s.clockMapping;
    if (m !== null) {
      this.pastClocks.delete(s.guest);
      this.pastClocks.set(s.guest, m);
      if (this.pastClocks.size > PAST_CLOCK_ERRORS) this.pastClocks.delete(this.pastClocks.keys().next().value as string);
    }
    this.pastDisorder.delete(s.guest);
    this.pastDisorder.set(s.guest, s.disorderedRecords);
    if (this.pastDisorder.size > PAST_CLOCK_ERRORS) this.pastDisorder.delete(this.pastDisorder.keys().next().value as string);
  }

  /**
   * Serves a guest connection. `head`: bytes already read from it elsewhere (the main process read the
   * HELLO), put back in front of what the socket reads next. `shmPeerPid`: the guest's process when it may
   * be offered the shared-memory channel (its region must come from that pid), else 0.
   */
  accept(socket: Socket, transport: GuestInfo['transport'], peer: string, head?: Uint8Array, shmPeerPid = 0): GuestSession | null {
    if (this.closing) return void socket.destroy(), null;
    const { fds, log } = this.o;
    // The channel's own descriptor comes out of the budget; at the reserve a new guest is turned away
    // (its connection closed) while the listener, the trace server and /metrics keep theirs.
    let overdrawn = false;
    if (!fds.take()) {
      this.limitedLog.warn('guest connection refused', { reason: 'the daemon is at its descriptor limit', limit: fds.limit, reserve: fds.reserve });
      // A few such guests are still answered (ENFILE to their HELLO) out of the reserve; beyond, cut off.
      if (this.overdraft >= MAX_OVERDRAFT) return void socket.destroy(), null;
      this.overdraft++;
      overdrawn = true;
    }
    socket.once('close', () => (overdrawn ? this.overdraft-- : fds.give()));
    socket.on('error', () => undefined);
    deepenSendBuffer(socket);
    if (head && head.length > 0) socket.unshift(Buffer.from(head.buffer, head.byteOffset, head.length));
    const s = new GuestSession(socket, {
      transport, peer, limits: this.o.limits, policy: this.o.policy, log, limitedLog: this.limitedLog, sink: this.o.sink, run: this.o.run,
      counters: this.counters, registry: this.registry, sameHost: this.sameHost, busyPoll: this.busyPoll, fds, shmPeerPid,
      onClosed: (x) => {
        this.sessions.delete(x);
        this.pending?.remove(x);
      },
    });
    this.sessions.add(s);
    if (overdrawn) this.overdrawn.add(s);
    if (!s.isClosed()) this.pending?.add(s, peer);
    return s;
  }

  figures(): HostFigures {
    let sockets = 0;
    for (const s of this.sessions) sockets += s.socketCount;
    return { counters: { ...this.counters }, guests: this.live.size, sockets };
  }

  guests(): GuestInfo[] {
    return [...this.sessions].filter((s) => s.guest !== '' && !s.isClosed()).map((s) => s.info());
  }

  clocks(): Record<string, ClockMapping> {
    const out: Record<string, ClockMapping> = Object.fromEntries(this.pastClocks);
    for (const [name, s] of this.live) {
      const m = s.clockMapping;
      if (m !== null) out[name] = m;
    }
    return out;
  }

  disorderedRecords(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.pastDisorder);
    for (const [name, s] of this.live) out[name] = s.disorderedRecords;
    return out;
  }

  busyPollFigures(): BusyPollStats & { windowUs: number } {
    return { ...this.busyPoll.stats(), windowUs: this.busyPoll.windowUs };
  }

  /** Says goodbye to every guest (cut after the grace); no new guest is taken. */
  shutAll(): void {
    this.closing = true;
    for (const s of [...this.sessions]) s.shut('daemon shutting down', null, true, 0, SHUTDOWN_GRACE_MS);
    this.limitedLog.flush();
  }
}
