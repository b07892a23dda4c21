// The shapes of the daemon connection that its users read (options, health, hello, state changes) and the
// limits it holds the daemon to. Their own file so the connection's parts (session-watch.ts,
// chunk-intake.ts) and its users share them without importing the connection itself.

import type { SeqAnomalies } from './record-sieve';
import type { Backoff } from './backoff';
import type { CappedLog, LogSink } from './capped-log';
import type { RecordCodec } from './record-codec';
import type { ConnectionState, Failure } from './connection-state';
import type { Timers } from './frame-pacer';

export interface ConnectionOptions {
  url: () => string;
  /** Asked before each attempt; undefined means "no token known" (the daemon will refuse). */
  token: () => Promise<string | undefined>;
  codec: RecordCodec;
  client: string;
  /** Receives lines already capped (length, rate): see capped-log.ts. */
  log: LogSink;
  backoff?: Backoff;
  timers?: Timers;
  helloTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** A ping this often; a session that hears nothing (no message, no pong) for heartbeatTimeoutMs ends. */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** A session up this long that heard from the daemon after hello is healthy: the backoff starts over. */
  healthyAfterMs?: number;
  /** Requests in a row the daemon leaves unanswered before the session is given up. */
  maxMissedReplies?: number;
  /** How long small chunks are held to be joined (chunk-batcher.ts). */
  batchMs?: number;
  logCaps?: ConstructorParameters<typeof CappedLog>[1];
}

/** What the connection noticed about the daemon's behaviour (shown to the user; read by tests). */
export interface ConnectionHealth {
  /** Chunks that could not be decoded (their whole records before the damage kept). */
  damagedChunks: number;
  /** Gaps, regressions and duplicates of seqs (record-sieve.ts). */
  seq: Readonly<SeqAnomalies>;
  /** Replies to no request of ours, and sessions ended because the daemon broke the protocol. */
  unsolicited: number;
  violations: number;
  /** Longest time spent handling one message, ms. */
  slowestMessageMs: number;
}

export interface DaemonHello {
  daemon: string;
  protocol: number;
  nextSeq: number;
  /** True when this daemon is not the one of the previous connection (restarted). */
  restarted: boolean;
}

export interface StateChange {
  state: ConnectionState;
  /** Set when the change comes from a failure; `retrying` says whether reconnecting goes on by itself. */
  failure?: Failure;
  retrying?: boolean;
}

/**
 * Largest message accepted from the daemon: its chunks hold at most 4096 records (about 130 KB) and its
 * replies are small; 4 MiB leaves room (a 4 MiB guests reply parses and checks in about 20 ms).
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Records one chunk may claim: twice what the daemon writes (4096). A chunk claiming more is refused from its
 * header, before decoding: the cost of a message is its records (about 5 µs each as objects, deduplicated and
 * counted), so this keeps the worst message near 40 ms.
 */
export const MAX_CHUNK_RECORDS = 8192;
