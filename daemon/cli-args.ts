// The linsockd command line, parsed into options; every bad flag is an Error that says what was expected.
import { availableParallelism } from 'node:os';

/**
 * Worker processes when `--workers` is not given: one per core, less the core the main process needs for
 * its listeners and trace hub. On 2 cores or fewer, one: measured there (README, "Many guests, many
 * cores"), a second worker without a core of its own doubled the daemon's CPU per call and served fewer.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return cores <= 2 ? 1 : cores - 1;
}
import { parseArgs as parseCommandLine, type ParseArgsConfig } from 'node:util';
import { LOG_LEVELS, type LogLevel } from './log';
import type { Limits } from './limits';
import { DEFAULT_BUSY_POLL_US, MAX_BUSY_POLL_US } from './channel/busy-poll';

export interface CliArgs {
  guestSocket?: string;
  guestTcp?: string;
  traceHost: string;
  tracePort: number;
  tokenFile?: string;
  config?: string;
  /** Print the effective policy rules and limits of this config file, then exit. */
  checkConfig?: string;
  trace: boolean;
  /** Join connects between this daemon's guests in-process (same-host shortcut). */
  shortcut: boolean;
  /** Microseconds of polling after guest activity (busy-poll.ts); 0 is off. */
  busyPollUs?: number;
  ringSize?: number;
  /** Worker processes serving guests (workers/); 1 serves them in the main process. */
  workers: number;
  limits: Partial<Limits>;
  allowRemote: boolean;
  tlsCert?: string;
  tlsKey?: string;
  allowedOrigins: string[];
  logLevel: LogLevel;
  help: boolean;
}

/** Worker processes at most: each is a Node process of its own (tens of MB); more than cores only adds wake-ups. */
export const MAX_WORKERS = 256;

export const USAGE = `Usage: linsockd [options]

  --guest-socket PATH        Unix socket guests connect to (default $XDG_RUNTIME_DIR/linsock/guest.sock,
                             /run/linsock/guest.sock as root)
  --guest-tcp HOST:PORT      also accept guests over TCP (a bare PORT means 127.0.0.1:PORT)
  --trace-host H             trace server address (default 127.0.0.1)
  --trace-port N             trace server port (default 7717; 0 picks a free one)
  --token-file PATH          where the trace token is kept (created with mode 0600)
  --config FILE              JSON: {"policy":{"rules":[...]},"limits":{...}} (README: Security)
  --check-config FILE        print the effective policy rules (yours, then the defaults) and limits, exit
  --trace on|off             record call traces (default on)
  --shortcut on|off          join connects between guests of this daemon in-process, without host
                             sockets (default on; off: through the host's loopback)
  --busy-poll-us N           keep polling N microseconds after guest activity instead of sleeping: lower
                             latency for up to one CPU while guests are busy (default ${DEFAULT_BUSY_POLL_US}; 0 = off)
  --ring-size N              trace records kept in memory
  --workers W                processes serving guests, spread by guest (default: one per core but one
                             for the main process, 1 on 2 cores or fewer; here ${defaultWorkers()});
                             1 serves every guest in the daemon's own process
  --max-sockets N            host sockets per guest (default 1024)
  --max-buffer-per-socket B  unsent bytes per socket, also the send credit (default 4M)
  --max-buffer-per-guest B   all bytes held for one guest (default 128M)
  --max-pending-accepts N    accepted connections waiting for a free handle (default 128)
  --max-frame B              largest frame payload (default 256K)
  --allow-remote             allow a non-loopback --trace-host (requires --tls-cert and --tls-key)
  --tls-cert FILE, --tls-key FILE
  --allowed-origin ORIGIN    a browser origin allowed on the trace socket (repeatable)
  --log-level debug|info|warn|error   (default info)
`;

/** `65536`, `64K`, `1M`, `1G` (binary multiples). */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+)\s*([kKmMgG]?)(?:i?[bB])?$/.exec(text);
  if (!m) throw new Error(`${flag} expects a byte count like 65536, 64K or 1M, got '${text}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] as string).toLowerCase()] as number;
  return Number(m[1]) * mult;
}

function parseCount(text: string, flag: string, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new Error(`${flag} expects an integer of at least ${min}, got '${text}'`);
  return Number(text);
}

type Apply = (a: CliArgs, value: string, flag: string) => void;
type Flag = { type: 'string'; apply: Apply } | { type: 'boolean'; short?: string; apply: (a: CliArgs) => void };

function onOff(value: string, flag: string): boolean {
  if (value !== 'on' && value !== 'off') throw new Error(`${flag} expects on or off, got '${value}'`);
  return value === 'on';
}

/** Every flag and what it sets; node:util's parseArgs splits the command line, this table gives it meaning. */
const FLAGS: Record<string, Flag> = {
  'guest-socket': { type: 'string', apply: (a, v) => void (a.guestSocket = v) },
  'guest-tcp': { type: 'string', apply: (a, v) => void (a.guestTcp = v) },
  'trace-host': { type: 'string', apply: (a, v) => void (a.traceHost = v) },
  'trace-port': {
    type: 'string',
    apply: (a, v) => {
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`--trace-port expects a port 0..65535, got '${v}'`);
      a.tracePort = Number(v);
    },
  },
  'token-file': { type: 'string', apply: (a, v) => void (a.tokenFile = v) },
  config: { type: 'string', apply: (a, v) => void (a.config = v) },
  'check-config': { type: 'string', apply: (a, v) => void (a.checkConfig = v) },
  trace: { type: 'string', apply: (a, v, f) => void (a.trace = onOff(v, f)) },
  shortcut: { type: 'string', apply: (a, v, f) => void (a.shortcut = onOff(v, f)) },
  'busy-poll-us': {
    type: 'string',
    apply: (a, v) => {
      if (!/^\d+$/.test(v) || Number(v) > MAX_BUSY_POLL_US) throw new Error(`--busy-poll-us expects microseconds 0..${MAX_BUSY_POLL_US}, got '${v}'`);
      a.busyPollUs = Number(v);
    },
  },
  workers: {
    type: 'string',
    apply: (a, v, f) => {
      a.workers = parseCount(v, f);
      if (a.workers > MAX_WORKERS) throw new Error(`${f} expects at most ${MAX_WORKERS} worker processes, got '${v}'`);
    },
  },
  'ring-size': { type: 'string', apply: (a, v, f) => void (a.ringSize = parseCount(v, f)) },
  'max-sockets': { type: 'string', apply: (a, v, f) => void (a.limits.maxSockets = parseCount(v, f)) },
  'max-buffer-per-socket': { type: 'string', apply: (a, v, f) => void (a.limits.maxBufferPerSocket = parseBytes(v, f)) },
  'max-buffer-per-guest': { type: 'string', apply: (a, v, f) => void (a.limits.maxBufferPerGuest = parseBytes(v, f)) },
  'max-pending-accepts': { type: 'string', apply: (a, v, f) => void (a.limits.maxPendingAccepts = parseCount(v, f)) },
  'max-frame': { type: 'string', apply: (a, v, f) => void (a.limits.maxFrame = parseBytes(v, f)) },
  'allow-remote': { type: 'boolean', apply: (a) => void (a.allowRemote = true) },
  'tls-cert': { type: 'string', apply: (a, v) => void (a.tlsCert = v) },
  'tls-key': { type: 'string', apply: (a, v) => void (a.tlsKey = v) },
  'allowed-origin': { type: 'string', apply: (a, v) => void a.allowedOrigins.push(v) },
  'log-level': {
    type: 'string',
    apply: (a, v) => {
      if (!LOG_LEVELS.includes(v as LogLevel)) throw new Error(`--log-level expects one of ${LOG_LEVELS.join(', ')}, got '${v}'`);
      a.logLevel = v as LogLevel;
    },
  },
  help: { type: 'boolean', short: 'h', apply: (a) => void (a.help = true) },
};
const OPTIONS = Object.fromEntries(
  Object.entries(FLAGS).map(([name, f]) => [name, f.type === 'boolean' && f.short ? { type: f.type, short: f.short } : { type: f.type }]),
) as ParseArgsConfig['options'];

export function parseArgs(argv: string[]): CliArgs {
  const a: CliArgs = { traceHost: '127.0.0.1', tracePort: 7717, trace: true, workers: defaultWorkers(), shortcut: true, limits: {}, allowRemote: false, allowedOrigins: [], logLevel: 'info', help: false };
  // Not strict: the table's own messages say what is wrong (a value may start with '-': it is then refused
  // by the flag's check, as "-5" is by --busy-poll-us). Tokens keep the order of repeated flags.
  const { tokens } = parseCommandLine({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'positional') throw new Error(`unknown option '${t.value}'`);
    if (t.kind === 'option-terminator') throw new Error("unknown option '--'");
    const flag = FLAGS[t.name];
    if (!flag || !Object.hasOwn(FLAGS, t.name)) throw new Error(`unknown option '${argv[t.index] ?? t.rawName}'`);
    if (flag.type === 'boolean') {
      if (t.value !== undefined) throw new Error(`${t.rawName} takes no value, got '${t.value}'`);
      flag.apply(a);
    } else {
      if (t.value === undefined) throw new Error(`${t.rawName} expects a value`);
      flag.apply(a, t.value, t.rawName);
    }
  }
  return a;
}
