// `linsockd`: the delegation daemon with its trace server. Prints one ready line on stdout, logs JSON lines
// on stderr, and on SIGTERM/SIGINT stops accepting, says goodbye to guests, closes every socket, exits 0.
import { parseArgs, USAGE } from './cli-args';
import { loadConfig } from './config';
import { resolveLimits } from './limits';
import { Policy } from './policy/policy';
import { startDaemon, type RunningDaemon } from './index';
import { jsonLogger } from './log';
import { TraceHub } from './trace/trace-hub';
import { startTraceServer } from './trace/trace-server';

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`linsockd: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.checkConfig !== undefined) return checkConfig(args.checkConfig);
  const log = jsonLogger(args.logLevel);
  process.on('uncaughtException', (e) => {
    log.error('internal error', { error: e.message, stack: e.stack });
    process.exit(70);
  });
  const config = args.config ? loadConfig(args.config) : { policy: {}, limits: {} };
  const hub = new TraceHub({ ringSize: args.ringSize, enabled: args.trace });
  const run = `linsockd-${process.pid}-${Date.now().toString(36)}`;
  const daemon: RunningDaemon = await startDaemon({
    guestSocket: args.guestSocket,
    guestTcp: args.guestTcp,
    policy: config.policy,
    limits: { ...config.limits, ...args.limits },
    trace: hub,
    logger: log,
    run,
    sameHostShortcut: args.shortcut,
    busyPollUs: args.busyPollUs,
    workers: args.workers,
  });
  let trace;
  try {
    trace = await startTraceServer({
      host: args.traceHost,
      port: args.tracePort,
      tokenFile: args.tokenFile,
      allowRemote: args.allowRemote,
      tlsCert: args.tlsCert,
      tlsKey: args.tlsKey,
      allowedOrigins: args.allowedOrigins,
      hub,
      guests: () => daemon.guests(),
      status: () => daemon.stats(),
      onError: (e) => log.error('trace server error', { error: e.message }),
    });
  } catch (e) {
    await daemon.close();
    throw e;
  }

  // Stopping never waits on guests: channels that do not take their goodbye are cut after a short grace
  // (index.ts), and whatever still holds the loop is cut at STOP_DEADLINE_MS. A second signal exits at once.
  const STOP_DEADLINE_MS = 1500;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(0);
    }
    stopping = true;
    log.info('stopping', { signal });
    const hard = setTimeout(() => {
      log.warn('stop deadline reached: exiting', { ms: STOP_DEADLINE_MS });
      process.exit(0);
    }, STOP_DEADLINE_MS);
    hard.unref();
    void Promise.all([daemon.close(), trace.close()])
      .then(() => hub.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info('ready', { trace: trace.url, guest: daemon.guestPath, tcp: daemon.tcpAddress ?? null, tracing: args.trace });
  process.stdout.write(`linsockd ready trace=${trace.url} guest=${daemon.guestPath ?? '-'} token-file=${trace.tokenFile}\n`);
}

/** `--check-config FILE`: the rules in the order they are checked (first match wins), and the limits. */
function checkConfig(file: string): void {
  try {
    const config = loadConfig(file);
    const policy = Policy.fromConfig(config.policy);
    const limits = resolveLimits(config.limits);
    const out = [`${file}: valid`, 'policy (first match wins):', ...policy.describe().map((l) => `  ${l}`), 'limits:'];
    for (const [k, v] of Object.entries(limits)) out.push(`  ${k}: ${v}${k in config.limits ? '' : ' (default)'}`);
    process.stdout.write(out.join('\n') + '\n');
  } catch (e) {
    process.stderr.write(`linsockd: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg: 'linsockd failed to start', error: (e as Error).message }) + '\n');
  process.exit(1);
});
