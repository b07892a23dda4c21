// The linsockd command line, parsed into options; every bad flag is an Error that says what was expected.
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
  trace: boolean;
  /** Join connects between this daemon's guests in-process (same-host shortcut). */
  shortcut: boolean;
  /** Microseconds of polling after guest activity (busy-poll.ts); 0 is off. */
  busyPollUs?: number;
  ringSize?: number;
  limits: Partial<Limits>;
  allowRemote: boolean;
  tlsCert?: string;
  tlsKey?: string;
  allowedOrigins: string[];
  logLevel: LogLevel;
  help: boolean;
}

export const USAGE = `Usage: linsockd [options]

  --guest-socket PATH        Unix socket guests connect to (default $XDG_RUNTIME_DIR/linsock/guest.sock,
                             /run/linsock/guest.sock as root)
  --guest-tcp HOST:PORT      also accept guests over TCP (a bare PORT means 127.0.0.1:PORT)
  --trace-host H             trace server address (default 127.0.0.1)
  --trace-port N             trace server port (default 7717; 0 picks a free one)
  --token-file PATH          where the trace token is kept (created with mode 0600)
  --config FILE              JSON: {"policy":{"rules":[...]},"limits":{...}}
  --trace on|off             record call traces (default on)
  --shortcut on|off          join connects between guests of this daemon in-process, without host
                             sockets (default on; off: through the host's loopback)
  --busy-poll-us N           keep polling N microseconds after guest activity instead of sleeping: lower
                             latency for up to one CPU while guests are busy (default ${DEFAULT_BUSY_POLL_US}; 0 = off)
  --ring-size N              trace records kept in memory
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

export function parseArgs(argv: string[]): CliArgs {
  const a: CliArgs = { traceHost: '127.0.0.1', tracePort: 7717, trace: true, shortcut: true, limits: {}, allowRemote: false, allowedOrigins: [], logLevel: 'info', help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} expects a value`);
      return v;
    };
    switch (flag) {
      case '--guest-socket': a.guestSocket = value(); break;
      case '--guest-tcp': a.guestTcp = value(); break;
      case '--trace-host': a.traceHost = value(); break;
      case '--trace-port': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`--trace-port expects a port 0..65535, got '${v}'`);
        a.tracePort = Number(v);
        break;
      }
      case '--token-file': a.tokenFile = value(); break;
      case '--config': a.config = value(); break;
      case '--trace': {
        const v = value();
        if (v !== 'on' && v !== 'off') throw new Error(`--trace expects on or off, got '${v}'`);
        a.trace = v === 'on';
        break;
      }
      case '--shortcut': {
        const v = value();
        if (v !== 'on' && v !== 'off') throw new Error(`--shortcut expects on or off, got '${v}'`);
        a.shortcut = v === 'on';
        break;
      }
      case '--busy-poll-us': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > MAX_BUSY_POLL_US) throw new Error(`--busy-poll-us expects microseconds 0..${MAX_BUSY_POLL_US}, got '${v}'`);
        a.busyPollUs = Number(v);
        break;
      }
      case '--ring-size': a.ringSize = parseCount(value(), flag); break;
      case '--max-sockets': a.limits.maxSockets = parseCount(value(), flag); break;
      case '--max-buffer-per-socket': a.limits.maxBufferPerSocket = parseBytes(value(), flag); break;
      case '--max-buffer-per-guest': a.limits.maxBufferPerGuest = parseBytes(value(), flag); break;
      case '--max-pending-accepts': a.limits.maxPendingAccepts = parseCount(value(), flag); break;
      case '--max-frame': a.limits.maxFrame = parseBytes(value(), flag); break;
      case '--allow-remote': a.allowRemote = true; break;
      case '--tls-cert': a.tlsCert = value(); break;
      case '--tls-key': a.tlsKey = value(); break;
      case '--allowed-origin': a.allowedOrigins.push(value()); break;
      case '--log-level': {
        const v = value();
        if (!LOG_LEVELS.includes(v as LogLevel)) throw new Error(`--log-level expects one of ${LOG_LEVELS.join(', ')}, got '${v}'`);
        a.logLevel = v as LogLevel;
        break;
      }
      case '--help': case '-h': a.help = true; break;
      default:
        throw new Error(`unknown option '${raw}'`);
    }
  }
  return a;
}
