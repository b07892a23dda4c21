// A linsockd worker process (forked by worker-pool.ts; bundled as dist/linsockd-worker.js). It serves the
// guests the main process hands it, each one's channel arriving as a handle with the HELLO the main
// process already read, in a GuestHost of its own: its own sessions, host sockets, same-host table and
// descriptor budget. Names, the guest caps and the trace hub stay in the main process: a HELLO's name
// comes with its verdict, a guest that leaves is reported, call records and log lines are sent on.
// It lives only as long as its IPC channel: when the main process goes (even SIGKILLed), it says goodbye
// to its guests and exits, so that no worker outlives its daemon.
import type { Socket } from 'node:net';
import type { ErrnoName } from '../../protocol';
import { GuestHost, type NameGate } from '../guest-host';
import type { GuestSession } from '../guests/guest-session';
import { FD_RESERVE, FdBudget } from '../fd-budget';
import type { Logger, LogLevel } from '../log';
import { Policy, type PolicyRuleConfig } from '../policy/policy';
import { REPORT_MS, type FromWorker, type GuestHandoff, type ToWorker, type WorkerInit } from './messages';
import { TraceForward } from './trace-forward';

/** How long a stopping worker gives its guests' goodbyes before it exits. */
const STOP_GRACE_MS = 400;

function send(m: FromWorker, done?: (err: Error | null) => void): boolean {
  if (!process.connected || !process.send) {
    done?.(new Error('no channel to the main process'));
    return false;
  }
  return process.send(m, undefined, {}, (err) => done?.(err ?? null));
}

/** Log lines go to the main process, which writes them with this worker's number (or drops them: SILENT). */
const forwardLog = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>): void => void send({ type: 'log', level, msg, fields });
const LOG: Logger = { debug: forwardLog('debug'), info: forwardLog('info'), warn: forwardLog('warn'), error: forwardLog('error') };

/** The main process's verdicts on the names of the guests it handed here. */
class HandedNames implements NameGate {
  /** Called when a guest leaves, after its name went back: its last figures follow at once. */
  onLeft: () => void = () => undefined;
  private readonly verdicts = new Map<GuestSession, { name: string; verdict: ErrnoName | null }>();

  expect(s: GuestSession, name: string, verdict: ErrnoName | null): void {
    this.verdicts.set(s, { name, verdict });
  }

  claim(name: string, s: GuestSession): ErrnoName | null {
    const v = this.verdicts.get(s);
    this.verdicts.delete(s);
    // The worker decodes the same HELLO bytes the main process did: another name would be a bug.
    if (!v || v.name !== name) {
      if (v?.verdict === null) send({ type: 'released', name: v.name });
      return 'EPROTO';
    }
    return v.verdict;
  }

  release(name: string): void {
    send({ type: 'released', name });
    this.onLeft();
  }

  refusedHere(name: string, s: GuestSession): void {
    const v = this.verdicts.get(s);
    this.verdicts.delete(s);
    if (v?.verdict === null) send({ type: 'released', name: v.name });
  }

  /** The channel closed: a name granted but never claimed (no HELLO decoded here) goes back. */
  forget(s: GuestSession): void {
    const v = this.verdicts.get(s);
    this.verdicts.delete(s);
    if (v?.verdict === null) send({ type: 'released', name: v.name });
  }
}

function start(init: WorkerInit): void {
  const fds = FdBudget.forProcess(LOG, FD_RESERVE);
  const limits = init.limits;
  if (limits.maxSockets > fds.available) limits.maxSockets = Math.max(1, fds.available);
  const policy = Policy.fromConfig(init.policy);
  let removeRuntime: Array<() => void> = [];
  const setRuntime = (rules: PolicyRuleConfig[]): void => {
    for (const undo of removeRuntime) undo();
    // addRule puts each new rule first: add the oldest first to keep their order.
    removeRuntime = [...rules].reverse().map((r) => policy.addRule(r));
  };
  setRuntime(init.runtimeRules);
  const sink = new TraceForward(send, init.tracing);
  const gate = new HandedNames();
  const host = new GuestHost({
    limits, policy, sink, log: LOG, fds, gate, run: init.run, busyPollUs: init.busyPollUs, sameHostShortcut: init.sameHostShortcut, pendingHellos: false,
  });

  const report = (guestLeft = false): void => {
    const f = host.figures();
    send({ type: 'report', guestLeft, counters: f.counters, guests: host.guests(), sockets: f.sockets, clocks: host.clocks(), disordered: host.disorderedRecords(), busyPoll: host.busyPollFigures() });
  };
  const reporting = setInterval(() => report(), REPORT_MS);
  // A guest that leaves has its calls in the main process's figures at once (the report is written in
  // the same turn as the session's goodbye), not up to REPORT_MS later. Written once the session's close
  // has run to its end (a microtask): the host hands the name back before it files the guest's clock
  // mapping and disorder count among its past guests, and a report taken in between had neither, so the
  // main process lost a departed guest's clock until the next report.
  gate.onLeft = () => queueMicrotask(() => {
    sink.flush();
    report(true);
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(reporting);
    host.shutAll();
    sink.flush();
    report();
    fds.stop();
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    // Exit as soon as every guest channel is gone (each is cut by SHUTDOWN_GRACE_MS at the latest).
    const poll = setInterval(() => {
      if (host.sessions.size === 0) process.exit(0);
    }, 20);
    poll.unref();
  };

  const onGuest = (m: GuestHandoff, socket: Socket | undefined): void => {
    if (!socket) return; // the connection closed on its way here
    const s = host.accept(socket, m.transport, m.peer, m.head);
    if (!s) {
      if (m.verdict === null && m.name !== undefined) send({ type: 'released', name: m.name });
      return;
    }
    if (m.name !== undefined && m.verdict !== undefined) gate.expect(s, m.name, m.verdict);
    socket.once('close', () => gate.forget(s));
  };

  process.on('message', (m: ToWorker, handle?: unknown) => {
    if (m.type === 'guest') onGuest(m, handle as Socket | undefined);
    else if (m.type === 'policy') setRuntime(m.runtimeRules);
    else if (m.type === 'tracing') sink.enabled = m.on;
    else if (m.type === 'stop') stop();
  });
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  // The main process stops its workers itself; a Ctrl-C in the terminal reaches the whole group.
  process.on('SIGINT', () => undefined);
  process.on('uncaughtException', (e) => {
    LOG.error('internal error in worker', { error: e.message, stack: e.stack });
    process.exit(70);
  });
  send({ type: 'ready' });
}

const orphaned = (): never => process.exit(0);
process.on('disconnect', orphaned);
process.once('message', (m: ToWorker) => {
  process.off('disconnect', orphaned);
  if (m.type !== 'init') {
    process.stderr.write(`linsockd worker: expected init, got ${m.type}\n`);
    process.exit(2);
  }
  start(m);
});
