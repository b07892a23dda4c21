// What a soak guest counts (it prints these, cumulative, as a JSON line every second).

export interface WorkerCounters {
  /** Calls made: connects, writes, sends, lookups, listens. */
  calls: number;
  /** Calls whose result was checked: bytes echoed intact, the expected address or the expected error. */
  verified: number;
  /** Bytes that came back identical to what was sent. */
  verifiedBytes: number;
  /** Exchanges whose bytes came back different: must stay 0. */
  corrupt: number;
  /** Unexpected errors and timeouts. */
  failures: number;
  /** UDP datagrams that got no echo (UDP may drop; not a failure). */
  udpLost: number;
  lastError: string | null;
  /** What the last corrupt exchange was (op, lengths, first differing byte). */
  lastCorrupt: string | null;
}

export function zeroCounters(): WorkerCounters {
  return { calls: 0, verified: 0, verifiedBytes: 0, corrupt: 0, failures: 0, udpLost: 0, lastError: null, lastCorrupt: null };
}
