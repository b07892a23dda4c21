// iperf3's own figures from its JSON report (`iperf3 -J`): what the client sent, what the server received
// (the client's report carries the server's count), and over how long. Benchmarks and tests read these
// rather than our own counters, so the figures are the program's.

export interface Iperf3Result {
  sentBytes: number;
  receivedBytes: number;
  /** The receiver's seconds (its first to last byte). */
  seconds: number;
  /** Received bytes per second over those seconds, in MB/s (10^6 bytes). */
  mbPerS: number;
}

function field(o: unknown, path: string[]): unknown {
  let v = o;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function count(o: unknown, path: string[]): number {
  const v = field(o, path);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`iperf3 report: ${path.join('.')} is ${JSON.stringify(v)}, expected a count`);
  return v;
}

/** Reads a client's (or a server's) `-J` report; throws with iperf3's own error or the missing field. */
export function parseIperf3(text: string): Iperf3Result {
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    throw new Error(`iperf3 printed no JSON report: ${text.slice(0, 200) || '(nothing)'}`);
  }
  const error = field(report, ['error']);
  if (typeof error === 'string') throw new Error(`iperf3: ${error}`);
  const seconds = count(report, ['end', 'sum_received', 'seconds']);
  const receivedBytes = count(report, ['end', 'sum_received', 'bytes']);
  return {
    sentBytes: count(report, ['end', 'sum_sent', 'bytes']),
    receivedBytes,
    seconds,
    mbPerS: seconds > 0 ? receivedBytes / seconds / 1e6 : 0,
  };
}

/**
 * Whether the counts agree: something arrived, never more than was sent, and what is missing is at most
 * what the buffers between them may still hold when iperf3 stops counting (`slack` bytes): the client's
 * sent count includes bytes still in flight when the server reports, on the direct path as well.
 */
export function countsAgree(r: Iperf3Result, slack: number): boolean {
  return r.receivedBytes > 0 && r.receivedBytes <= r.sentBytes && r.sentBytes - r.receivedBytes <= slack;
}
