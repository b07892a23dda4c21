// What `linsock start` hosts in one process: linsockd on a guest socket, the trace hub, and the trace
// server whose `run` request drives a comparison through the bench runner against that same daemon.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultGuestSocketPath, instanceName, Policy, startDaemon, startTraceServer, TraceHub, type RunningDaemon, type TraceServer,
} from '../../daemon';
import { runComparison, type ComparisonRequest } from './comparison';
import type { BenchOutcome } from '../bench/run-bench';
import { RunRecorder } from './run-recorder';

export const DEFAULT_TRACE_PORT = 7717;

export interface ServeOptions {
  /** The guest socket; when absent the default one, or a private one when the default is taken. */
  guestSocket?: string;
  /** The trace server's port; when absent 7717, or a free one when 7717 is taken. 0 picks a free one. */
  tracePort?: number;
  tokenFile?: string;
  /** Tracing on (default) or off. */
  trace?: boolean;
  /** Lines for a person: fallbacks taken, run progress. */
  log?: (line: string) => void;
}

export interface Serve {
  traceUrl: string;
  tokenFile: string;
  guestPath: string;
  recorder: RunRecorder;
  /** Runs one comparison; rejects while another runs. */
  run(req: ComparisonRequest, runId?: string): Promise<BenchOutcome>;
  /** Aborts a run in progress, stops the trace server and the daemon, removes private files. */
  close(): Promise<void>;
}

export async function startServe(o: ServeOptions = {}): Promise<Serve> {
  const log = o.log ?? (() => undefined);
  const hub = new TraceHub({ enabled: o.trace ?? true });
  const recorder = new RunRecorder(hub);
  const policy = Policy.fromConfig({});
  let privateDir: string | null = null;
  const daemonOn = (guestSocket: string): Promise<RunningDaemon> =>
    startDaemon({ guestSocket, policy, trace: recorder, run: `linsock-start-${process.pid}` });

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

  let current: { abort: AbortController; done: Promise<unknown> } | null = null;
  const run = (req: ComparisonRequest, runId: string = randomUUID()): Promise<BenchOutcome> => {
    if (current) return Promise.reject(new Error('a comparison is already running; wait for it to finish'));
    const abort = new AbortController();
    const done = runComparison(req, { guestPath, policy, sink: recorder }, { runId, signal: abort.signal, onProgress: log });
    const me = { abort, done: done.catch(() => undefined) };
    current = me;
    void me.done.then(() => {
      if (current === me) current = null;
    });
    return done;
  };

  let server: TraceServer;
  const serverOn = (port: number): Promise<TraceServer> =>
    startTraceServer({
      host: '127.0.0.1',
      port,
      ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
      hub,
      guests: () => daemon.guests(),
      status: () => daemon.stats(),
      runWorkload: async (req, runId) => (await run({ workload: req.workload, paths: req.paths, seconds: req.seconds, mode: req.mode ?? null }, runId)).report,
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

  let closed = false;
  return {
    traceUrl: server.url,
    tokenFile: server.tokenFile,
    guestPath,
    recorder,
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
