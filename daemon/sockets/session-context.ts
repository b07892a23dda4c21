// What a host socket needs from the guest session that owns it: the session implements this, the sockets
// see nothing else of it.
import type { Writable } from 'node:stream';
import type { Op } from '../../protocol';
import type { ChannelOut } from '../channel/channel-out';
import type { Limits } from '../limits';
import type { Logger } from '../log';
import type { Policy } from '../policy/policy';
import type { CallStamps } from '../trace/call-stamps';
import type { HostHandle } from './host-handle';

/** Counters a session keeps for the whole daemon's status. */
export interface Counters {
  calls: number;
  bytes: number;
  errors: number;
  drops: number;
}

export interface SessionContext {
  readonly guest: string;
  readonly out: ChannelOut;
  readonly limits: Limits;
  readonly policy: Policy;
  readonly log: Logger;
  readonly counters: Counters;
  /** Whether this guest's calls are traced (stamps worth taking). */
  readonly tracing: boolean;
  /** Negotiated largest payload of a frame to the guest. */
  readonly maxPayload: number;
  /** Bytes of sends handed to host sockets and not yet written, plus received bytes held back, for this guest. */
  heldBytes: number;
  /** True while the guest's channel is backed up: host sockets stop reading until it drains. */
  outputBlocked(): boolean;
  /** Whether `n` more bytes may be held for this guest within maxBufferPerGuest. */
  mayHold(n: number): boolean;
  nextEventId(): number;
  /**
   * Corks `socket` until the end of this event-loop turn: the sends of all chunks read in it leave as one
   * writev. `bytes`: what the running call adds to it (its trace record times that writev).
   */
  batchWrites(socket: Writable, bytes: number): void;
  /** Host stamps for a pushed event when tracing is on, else undefined. */
  tracePush(handle: number, op: Op, eventId: number, bytes: number, at: number): CallStamps | undefined;
  /** Replaces the object behind a handle (an unconnected TCP socket that connected or listens). */
  replace(h: HostHandle): void;
  /** A host socket that closed on its own (reset, error): the handle is gone; `closed` was sent. */
  forget(handle: number): void;
  /** Gives an accepted host connection a handle, or null when the guest is at its socket limit. */
  adopt<H extends HostHandle>(make: (handle: number) => H): H | null;
  /** Calls `fn` once when a handle is freed (a listener waiting to hand over an accepted connection). */
  whenHandleFree(fn: () => void): void;
  /** Keeps a socket the guest closed until its queued data is out; call the result when it is gone. */
  linger(h: HostHandle): () => void;
  /** An exception in one of this guest's host socket events: ends the guest's session, never the daemon. */
  fault(e: unknown, where: string): void;
}
