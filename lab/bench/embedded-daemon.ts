// The linsockd a bench run embeds when --daemon names none: in this process, on a private guest socket,
// with a policy that allows exactly the bench server's address and port.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, NO_TRACE, type TraceSink } from '../../daemon';
import type { TraceRecord } from '../../protocol';

export interface EmbeddedDaemonOptions {
  allow: { address: string; port: number; udp: boolean };
  trace: boolean;
}

export interface EmbeddedDaemon {
  guestPath: string;
  /** Call records the daemon published during the run (tracing on). */
  records(): number;
  close(): Promise<void>;
}

/**
 * With tracing on, the daemon builds every call record (guest stamps joined with its own) and hands it
 * to this sink, which counts it: the cost of tracing in the daemon is paid, the ring is not kept.
 */
class CountingSink implements TraceSink {
  readonly enabled = true;
  count = 0;
  publish(record: TraceRecord): void {
    if (record.kind === 'call') this.count++;
  }
}

export async function startEmbeddedDaemon(o: EmbeddedDaemonOptions): Promise<EmbeddedDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-'));
  const sink = o.trace ? new CountingSink() : null;
  const d = await startDaemon({
    guestSocket: join(dir, 'guest.sock'),
    policy: { rules: [{ action: 'allow', ops: [o.allow.udp ? 'sendto' : 'connect'], cidr: o.allow.address, ports: o.allow.port }] },
    trace: sink ?? NO_TRACE,
    run: `bench-${process.pid}`,
  });
  return {
    guestPath: d.guestPath as string,
    records: () => sink?.count ?? 0,
    close: async () => {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
