// Per-guest limits of linsockd. Every buffer the daemon holds for a guest is bounded by one of these;
// exceeding one is an errno for that guest (EMFILE, ENOBUFS), never a crash or unbounded memory.
import { DEFAULT_INITIAL_CREDIT, DEFAULT_MAX_PAYLOAD, MAX_PAYLOAD_CEILING } from '../protocol';

export interface Limits {
  /** Open host sockets per guest (EMFILE beyond). */
  maxSockets: number;
  /** Bytes of a guest's sends not yet handed to the kernel, per socket; also the send credit granted in HELLO. */
  maxBufferPerSocket: number;
  /** All bytes held for one guest: unflushed host writes, held received data, frames queued to its channel. */
  maxBufferPerGuest: number;
  /** Accepted connections waiting for a free handle when the guest is at maxSockets; beyond, they are dropped. */
  maxPendingAccepts: number;
  /** Largest frame payload the daemon accepts and sends. */
  maxFrame: number;
  /** Guests connected at once (after HELLO). */
  maxGuests: number;
  /** Guests connected at once from one peer: one uid on the Unix socket, one address over TCP. */
  maxGuestsPerPeer: number;
  /** Connections waiting for their HELLO at once; beyond, the oldest waiting one is closed. */
  maxPendingHellos: number;
  /** The same per peer: a peer's own oldest waiting connection is closed first. */
  maxPendingHellosPerPeer: number;
  /** Name lookups in flight per guest (EAGAIN beyond). */
  maxLookups: number;
  /** Call records waiting for the guest's stamps, per guest; the oldest are published without them. */
  maxPendingTraces: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxSockets: 1024,
  // Larger than the protocol's default receive window: a 1 MiB send window left the daemon idle waiting
  // for the guest's next frames (bench:daemon, stream: 4 MiB gave 0.38-0.59 of direct against 0.31-0.43).
  maxBufferPerSocket: 4 * DEFAULT_INITIAL_CREDIT,
  // Room for 32 sockets with full send windows stuck behind slow peers before sends fail with ENOBUFS.
  maxBufferPerGuest: 128 * 1024 * 1024,
  maxPendingAccepts: 128,
  maxFrame: DEFAULT_MAX_PAYLOAD,
  maxGuests: 256,
  maxGuestsPerPeer: 64,
  maxPendingHellos: 256,
  maxPendingHellosPerPeer: 32,
  maxLookups: 32,
  maxPendingTraces: 8192,
};

const MIN_FRAME = 4096;

/** Defaults overlaid with `given`; throws an Error naming the first value that is not acceptable. */
export function resolveLimits(given: Partial<Record<keyof Limits, unknown>> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw new Error(`unknown limit '${key}'; known limits: ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      throw new Error(`limit ${key} must be a positive integer, got ${JSON.stringify(value)}`);
    out[key as keyof Limits] = value;
  }
  if (out.maxFrame < MIN_FRAME || out.maxFrame > MAX_PAYLOAD_CEILING)
    throw new Error(`limit maxFrame must be between ${MIN_FRAME} and ${MAX_PAYLOAD_CEILING} bytes, got ${out.maxFrame}`);
  if (out.maxBufferPerGuest < out.maxBufferPerSocket)
    throw new Error(`limit maxBufferPerGuest (${out.maxBufferPerGuest}) must be at least maxBufferPerSocket (${out.maxBufferPerSocket})`);
  return out;
}
