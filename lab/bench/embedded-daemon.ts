// The linsockd a bench run embeds when --daemon names none: in this process, on a private guest socket,
// with a policy that allows exactly the bench server's address and port.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, NO_TRACE, TraceHub, type TraceSink } from '../../daemon';
import type { TraceRecord } from '../../protocol';

export interface EmbeddedDaemonOptions {
  allow: { address: string; port: number; udp: boolean };
  trace: boolean;
  /** The daemon's polling window after guest activity; its default when absent. */
  busyPollUs?: number;
}

export interface EmbeddedDaemon {
  guestPath: string;
  /** Call records the daemon published during the run (tracing on). */
  records(): number;
  /** Pauses or resumes the daemon's tracing (it stays on until a guest has connected). */
  setTracing(on: boolean): void;
  close(): Promise<void>;
}

/**
 * With tracing on the daemon publishes into a real TraceHub, the one `linsockd` runs: records are
 * batched, encoded into chunks and kept in the ring, so `--trace on` against `--trace off` measures
 * the whole cost of tracing, not only the building of records. Nobody subscribes; the ring is bounded.
 */
export async function startEmbeddedDaemon(o: EmbeddedDaemonOptions): Promise<EmbeddedDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-'));
  const hub = o.trace ? new TraceHub() : null;
  // The daemon checks `enabled` before each call it traces: a switch in front of the hub pauses tracing.
  const sink: TraceSink & { enabled: boolean } = hub ? { enabled: true, publish: (r: TraceRecord) => hub.publish(r) } : { ...NO_TRACE };
  const d = await startDaemon({
    guestSocket: join(dir, 'guest.sock'),
    policy: { rules: [{ action: 'allow', ops: [o.allow.udp ? 'sendto' : 'connect'], cidr: o.allow.address, ports: o.allow.port }] },
    trace: sink,
    run: `bench-${process.pid}`,
    busyPollUs: o.busyPollUs,
  });
  return {
    guestPath: d.guestPath as string,
    records: () => hub?.stats().calls ?? 0,
    setTracing: (on) => {
      // A guest that said hello while tracing was paused would never stamp: the switch stays on until one has.
      if (hub) sink.enabled = on || d.guests().length === 0;
    },
    close: async () => {
      await d.close();
      hub?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
