// `npm run soak -- --minutes N`: a real linsockd (dist/linsockd.js) under several guests running mixed
// workloads, fuzzing guests writing malformed frames, a stalled trace subscriber next to one that reads,
// and guests killed at random — bounded in time and in the number of guests ever started, on loopback
// only. The result is one JSON object (SoakReport): the daemon's exits, its memory and descriptors, the
// calls made and verified, and the drops counted.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSoakDaemon, rssBytes, fdCount } from './daemon-process';
import { startEchoServers } from './echo-servers';
import { GuestPool } from './guest-pool';
import { Fuzzer } from './fuzz';
import { CountingSubscriber, StalledSubscriber } from './trace-clients';

export interface SoakOptions {
  /** The repository root (holds dist/linsockd.js). */
  root: string;
  seconds: number;
  guests: number;
  /** Mean seconds between random kills of a guest. */
  killEverySeconds: number;
  /** Progress on stderr every so many seconds (0: quiet). */
  progressSeconds: number;
}

export interface SoakReport {
  seconds: number;
  /** Times the daemon ended during the soak (must be 0), and its exit code when stopped at the end. */
  daemon_exits: number;
  daemon_exit_code: number | string | null;
  rss_mb: { at_1min: number | null; end: number | null; max: number | null; end_over_1min: number | null };
  fds: { start: number | null; end: number | null };
  calls: number;
  verified: number;
  verified_bytes: number;
  /** Exchanges whose bytes came back different (must be 0). */
  corrupt: number;
  last_corrupt: string | null;
  /** Unexpected errors and timeouts in the guests' workloads. */
  failures: number;
  last_failure: string | null;
  drops: { trace_records: number; udp_datagrams: number };
  guests: { started: number; killed: number; crashed: number };
  fuzz: { connections: number; frames: number };
  stalled_subscriber_cut_off: number;
  trace_calls_seen: number;
}

const MB = 1024 * 1024;
const round = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-soak-'));
  const servers = await startEchoServers();
  const daemon = await startSoakDaemon(o.root, dir);
  let unexpectedExits = 0;
  let running = true;
  void daemon.exited.then(() => void (running && unexpectedExits++));
  const fdStart = fdCount(daemon.pid);
  const token = readFileSync(daemon.tokenFile, 'utf8').trim();
  const counter = new CountingSubscriber(daemon.traceUrl, token);
  const stalled = new StalledSubscriber(daemon.traceUrl, token);
  const pool = new GuestPool({
    guests: o.guests,
    maxStarts: o.guests + Math.ceil(o.seconds / o.killEverySeconds) + 1,
    env: { LINSOCK_CHANNEL: daemon.guestSocket, SOAK_TCP_PORT: String(servers.tcpPort), SOAK_UDP_PORT: String(servers.udpPort), SOAK_REFUSED_PORT: String(servers.refusedPort) },
  });
  const fuzz = new Fuzzer(daemon.guestSocket);
  pool.start();
  fuzz.start();

  // Ctrl-C or SIGTERM ends the run early, through the same wind-down (no guest or daemon left behind).
  let interrupted = false;
  const interrupt = (): void => void (interrupted = true);
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const started = performance.now();
  let rssAt1Min: number | null = null;
  let rssMax = 0;
  let nextKill = started + o.killEverySeconds * 1000 * (0.5 + Math.random());
  let lastProgress = started;
  while (performance.now() - started < o.seconds * 1000 && daemon.exit === null && !interrupted) {
    await sleep(1000);
    const now = performance.now();
    const rss = rssBytes(daemon.pid);
    if (rss !== null) rssMax = Math.max(rssMax, rss);
    if (rssAt1Min === null && now - started >= 60_000) rssAt1Min = rss;
    if (now >= nextKill) {
      pool.killOne();
      nextKill = now + o.killEverySeconds * 1000 * (0.5 + Math.random());
    }
    if (o.progressSeconds > 0 && now - lastProgress >= o.progressSeconds * 1000) {
      lastProgress = now;
      const t = pool.totals();
      process.stderr.write(`soak ${Math.round((now - started) / 1000)} s: rss ${round((rss ?? 0) / MB)} MB, fds ${fdCount(daemon.pid)}, guests ${pool.live}, calls ${t.calls}, verified ${t.verified}, corrupt ${t.corrupt}, failures ${t.failures}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);

  // Wind down: guests, fuzzers and subscribers leave; the daemon must come back to its first descriptors.
  fuzz.stop();
  await pool.stop();
  await counter.close();
  await stalled.close();
  const rssEnd = rssBytes(daemon.pid);
  let fdEnd = fdCount(daemon.pid);
  for (let i = 0; i < 150 && fdEnd !== null && fdStart !== null && fdEnd > fdStart; i++) {
    await sleep(100);
    fdEnd = fdCount(daemon.pid);
  }
  running = false;
  if (daemon.exit === null) daemon.proc.kill('SIGTERM');
  const killTimer = setTimeout(() => daemon.proc.kill('SIGKILL'), 10_000);
  const exitCode = await daemon.exited;
  clearTimeout(killTimer);
  await servers.close();
  rmSync(dir, { recursive: true, force: true });

  const t = pool.totals();
  return {
    seconds: Math.round(seconds),
    daemon_exits: unexpectedExits,
    daemon_exit_code: exitCode,
    rss_mb: {
      at_1min: round(rssAt1Min === null ? null : rssAt1Min / MB),
      end: round(rssEnd === null ? null : rssEnd / MB),
      max: round(rssMax / MB),
      end_over_1min: rssAt1Min && rssEnd ? Math.round((rssEnd / rssAt1Min) * 100) / 100 : null,
    },
    fds: { start: fdStart, end: fdEnd },
    calls: t.calls,
    verified: t.verified,
    verified_bytes: t.verifiedBytes,
    corrupt: t.corrupt,
    last_corrupt: t.lastCorrupt,
    failures: t.failures,
    last_failure: t.lastError,
    drops: { trace_records: counter.dropped, udp_datagrams: t.udpLost },
    guests: { started: pool.started, killed: pool.killed, crashed: pool.crashed },
    fuzz: { connections: fuzz.connections, frames: fuzz.frames },
    stalled_subscriber_cut_off: stalled.cutOff,
    trace_calls_seen: counter.calls,
  };
}
