// What `linsock start` hosts in one process: linsockd on a guest socket, the trace hub, and the trace
// server whose `run` request drives a comparison through the bench runner against that same daemon.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_BUSY_POLL_US, defaultGuestSocketPath, instanceName, Policy, startDaemon, startTraceServer, TraceHub, type RunningDaemon, type TraceServer,
} from '../../daemon';
import { runComparison, type ComparisonRequest } from './comparison';
import type { BenchOutcome } from '../bench/run-bench';
import { DEFAULT_RECORD_LIMIT, RunRecorder } from './run-recorder';
import { traceFilesMessage, writeTraceFiles } from './trace-files';
import { labFacts, labOffer } from './lab-offer';
import { runProgramComparison } from './program-comparison';
import { RunningVms, runVmComparison } from './vm-comparison';
import type { LabOffer } from '../../protocol';

export const DEFAULT_TRACE_PORT = 7717;

export interface ServeOptions {
  /** The guest socket; when absent the default one, or a private one when the default is taken. */
  guestSocket?: string;
  /** The trace server's port; when absent 7717, or a free one when 7717 is taken. 0 picks a free one. */
  tracePort?: number;
  tokenFile?: string;
  /** Tracing on (default) or off. */
  trace?: boolean;
  /** The daemon's polling window after guest activity (linsockd --busy-poll-us); its default when absent. */
  busyPollUs?: number;
  /** Lines for a person: fallbacks taken, run progress, where a requested run's trace files went. */
  log?: (line: string) => void;
  /** Where runs requested over the trace server (`run`) are written as .lstrace and Chrome JSON; none when absent. */
  tracesDir?: string;
}

export interface Serve {
  traceUrl: string;
  tokenFile: string;
  guestPath: string;
  recorder: RunRecorder;
  /** What this lab runs (the status reply's `lab`): namespaces, a VM when QEMU is here, the bench programs. */
  offer: LabOffer;
  /** Runs one comparison; rejects while another runs. */
  run(req: ComparisonRequest, runId?: string): Promise<BenchOutcome>;
  /** Aborts a run in progress, stops the trace server and the daemon, removes private files. */
  close(): Promise<void>;
}

export async function startServe(o: ServeOptions = {}): Promise<Serve> {
  const log = o.log ?? (() => undefined);
  const hub = new TraceHub({ enabled: o.trace ?? true });
  const daemonRun = `linsock-start-${process.pid}`;
  const recorder = new RunRecorder(hub, DEFAULT_RECORD_LIMIT, daemonRun);
  // Comparison guests serve on the host's loopback (inter-guest's guest A), closed by default.
  const policy = Policy.fromConfig({ rules: [{ action: 'allow', ops: ['listen', 'bind'], cidr: ['127.0.0.1', '::1'] }] });
  let privateDir: string | null = null;
  // Calls of guests that are no comparison's keep the daemon's run id.
  const daemonOn = (guestSocket: string): Promise<RunningDaemon> =>
    startDaemon({ guestSocket, policy, trace: recorder, run: daemonRun, busyPollUs: o.busyPollUs });

  let daemon: RunningDaemon;
  if (o.guestSocket !== undefined) daemon = await daemonOn(o.guestSocket);
  else {
    try {
      daemon = await daemonOn(defaultGuestSocketPath());
    } catch (err) {
      privateDir = mkdtempSync(join(tmpdir(), 'linsock-start-'));
      log(`the default guest socket is not available (${(err as Error).message}); using a private one`);
      daemon = await daemonOn(join(privateDir, 'guest.sock'));
    }
  }
  const guestPath = daemon.guestPath as string;
  const offer = labOffer(await labFacts());
  const vms = new RunningVms();

  let current: { abort: AbortController; done: Promise<unknown> } | null = null;
  let closed = false;
  const run = (req: ComparisonRequest, runId: string = randomUUID()): Promise<BenchOutcome> => {
    if (current) return Promise.reject(new Error('a comparison is already running; wait for it to finish'));
    const abort = new AbortController();
    recorder.addRun(runId);
    const me: { abort: AbortController; done: Promise<unknown> } = { abort, done: Promise.resolve() };
    // The slot is freed before the caller learns that the run ended, so that it may start the next one at
    // once (the initial comparison does: freed a tick later, its next run was refused as a second one).
    const done = (async () => {
      try {
        if (req.program !== undefined) return await runProgramComparison({ program: req.program, paths: req.paths, seconds: req.seconds }, { runId, sink: recorder, onProgress: log });
        if (req.guest === 'vm') return await runVmComparison(req, { runId, sink: recorder, signal: abort.signal, onProgress: log }, vms);
        return await runComparison(req, { guestPath, policy, sink: recorder, busyPollUs: o.busyPollUs ?? DEFAULT_BUSY_POLL_US }, { runId, signal: abort.signal, onProgress: log });
      } finally {
        if (current === me) current = null;
      }
    })();
    me.done = done.catch(() => undefined);
    current = me;
    return done;
  };

  /** A run requested over the trace server: recorded on its own and written under tracesDir. */
  const requestedRun = async (req: ComparisonRequest, runId: string): Promise<BenchOutcome> => {
    // The initial comparison of `linsock start` records across its runs: no run may slip in between them.
    if (current || recorder.recording) throw new Error('a comparison is already running; wait for it to finish');
    if (o.tracesDir === undefined) return run(req, runId);
    recorder.start();
    try {
      return await run(req, runId);
    } finally {
      const { records, leftOut } = recorder.stop();
      if (!closed && records.length > 0) {
        const name = `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${req.program ?? req.workload}${req.guest === 'vm' ? '-vm' : ''}`;
        try {
          log(traceFilesMessage(writeTraceFiles(o.tracesDir, name, records), records.length, leftOut));
        } catch (err) {
          log(`run ${runId}: its trace files could not be written to ${o.tracesDir}: ${(err as Error).message}`);
        }
      }
    }
  };

  let server: TraceServer;
  const serverOn = (port: number): Promise<TraceServer> =>
    startTraceServer({
      host: '127.0.0.1',
      port,
      ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
      hub,
      // A comparison's VMs are guests of their own daemons (lab/vm): listed here while they run.
      guests: () => [...daemon.guests(), ...vms.guests()],
      status: () => ({ ...daemon.stats(), lab: offer }),
      runWorkload: async (req, runId) => (await requestedRun({
        workload: req.workload, paths: req.paths, seconds: req.seconds, mode: req.mode ?? null,
        ...(req.guest ? { guest: req.guest } : {}), ...(req.program !== undefined ? { program: req.program } : {}),
      }, runId)).report,
      // Program, pid and start time: the extension tells a restarted daemon from the one it knew by this name.
      daemonName: instanceName('linsock start'),
    });
  try {
    if (o.tracePort !== undefined) server = await serverOn(o.tracePort);
    else {
      try {
        server = await serverOn(DEFAULT_TRACE_PORT);
      } catch (err) {
        log(`port ${DEFAULT_TRACE_PORT} is not available (${(err as Error).message}); using a free port`);
        server = await serverOn(0);
      }
    }
  } catch (err) {
    await daemon.close();
    hub.close();
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    throw err;
  }

  return {
    traceUrl: server.url,
    tokenFile: server.tokenFile,
    guestPath,
    recorder,
    offer,
    run,
    async close() {
      if (closed) return;
      closed = true;
      // A run in progress is cancelled and its lab torn down (namespaces, devices, processes) before the
      // daemon it uses goes away.
      if (current) {
        current.abort.abort();
        await current.done;
      }
      await Promise.all([server.close(), daemon.close()]);
      hub.close();
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    },
  };
}
