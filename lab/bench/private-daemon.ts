// A linsockd in this process for one bench run when the caller's daemon cannot serve it: inter-guest runs
// (one daemon with the same-host shortcut, one without, for `delegated-kernel`), and runs that publish
// into a caller's sink without naming a daemon. Its policy starts closed to host loopback (the defaults)
// and the runner opens exactly the ports a run needs (Policy.addRule) once it knows them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, NO_TRACE, Policy, TraceHub, type DaemonOptions, type TraceSink } from '../../daemon';

export interface PrivateDaemon {
  guestPath: string;
  policy: Policy;
  close(): Promise<void>;
}

export async function startPrivateDaemon(o: { sink: TraceSink | null; trace: boolean; shortcut: boolean; run: string; busyPollUs?: number }): Promise<PrivateDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-bench-'));
  const policy = Policy.fromConfig({});
  // Without a caller's sink, tracing still costs what it costs in linsockd: a TraceHub nobody reads.
  const hub = !o.sink && o.trace ? new TraceHub() : null;
  // sameHostShortcut is the daemon's option for joining connects between its own guests in-process.
  const options: DaemonOptions & { sameHostShortcut: boolean } = {
    guestSocket: join(dir, 'guest.sock'),
    policy,
    trace: o.trace ? (o.sink ?? hub ?? NO_TRACE) : NO_TRACE,
    run: o.run,
    sameHostShortcut: o.shortcut,
    busyPollUs: o.busyPollUs,
  };
  let d;
  try {
    d = await startDaemon(options);
  } catch (e) {
    hub?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const daemon = d;
  return {
    guestPath: daemon.guestPath as string,
    policy,
    close: async () => {
      await daemon.close();
      hub?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
