// The linsockd process for adversarial tests: started from source (optionally inside a network namespace
// the test made), its ready line parsed, its JSON log kept, its exit watched, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '../..');
const READY = /^linsockd ready trace=wss?:\/\/[^ ]+:(\d+)\/trace guest=(\S+) token-file=(\S+)$/;

export interface DaemonProcess {
  child: ChildProcess;
  dir: string;
  guestPath: string;
  tracePort: number;
  tokenFile: string;
  /** JSON log lines, parsed. */
  log: Record<string, unknown>[];
  /** Bytes written to stderr so far. */
  logBytes(): number;
  /** The exit code once it exited (null while running). */
  exitCode(): number | null;
  stop(): Promise<number | null>;
}

export interface DaemonStart {
  /** `ip netns exec NAME` around the daemon. */
  netns?: string;
  /** The config file's content ({"policy":...,"limits":...}). */
  config?: unknown;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Soft and hard RLIMIT_NOFILE for the daemon (`ulimit -n` in the shell that starts it). */
  fdLimit?: number;
}

export async function startDaemonProcess(o: DaemonStart = {}): Promise<DaemonProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'linsockd-adv-'));
  const args = ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), '--guest-socket', join(dir, 'run', 'guest.sock'), '--trace-port', '0', '--token-file', join(dir, 'tok', 'token')];
  if (o.config !== undefined) {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(o.config));
    args.push('--config', join(dir, 'config.json'));
  }
  args.push(...(o.args ?? []));
  let [cmd, argv] = o.netns ? ['ip', ['netns', 'exec', o.netns, process.execPath, ...args]] : [process.execPath, args];
  if (o.fdLimit !== undefined) [cmd, argv] = ['sh', ['-c', `ulimit -n ${o.fdLimit} && exec "$0" "$@"`, cmd, ...argv]];
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  const log: Record<string, unknown>[] = [];
  let bytes = 0;
  let code: number | null = null;
  child.stderr?.on('data', (c: Buffer) => (bytes += c.length));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => {
    try {
      log.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      log.push({ raw: l });
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (c, sig) => r((code = c ?? (sig ? 128 : null)))));
  const ready = await new Promise<RegExpExecArray>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      const m = READY.exec(line);
      if (m) res(m);
      else rej(new Error(`unexpected first line: ${line}`));
    });
    void exited.then((c) => rej(new Error(`linsockd exited ${c} before ready: ${JSON.stringify(log)}`)));
  });
  return {
    child, dir, log,
    guestPath: ready[2] as string,
    tracePort: Number(ready[1]),
    tokenFile: ready[3] as string,
    logBytes: () => bytes,
    exitCode: () => code,
    async stop() {
      if (code === null) child.kill('SIGTERM');
      const c = await exited;
      rmSync(dir, { recursive: true, force: true });
      return c;
    },
  };
}
