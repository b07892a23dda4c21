// The linsockd a bench run embeds when --daemon names none: in this process, on a private guest socket,
// with a policy that allows exactly the bench server's address and port.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, NO_TRACE, TraceHub } from '../../daemon';

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
  const d = await startDaemon({
    guestSocket: join(dir, 'guest.sock'),
    policy: { rules: [{ action: 'allow', ops: [o.allow.udp ? 'sendto' : 'connect'], cidr: o.allow.address, ports: o.allow.port }] },
    trace: hub ?? NO_TRACE,
    run: `bench-${process.pid}`,
    busyPollUs: o.busyPollUs,
  });
  return {
    guestPath: d.guestPath as string,
    records: () => hub?.stats().calls ?? 0,
    close: async () => {
      await d.close();
      hub?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
