// One lab run's network namespaces and the processes inside them: created under a per-run name,
// removed together — after success, failure, SIGINT/SIGTERM or process exit — and swept after a crash.

import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type GuestKind = 'delegated' | 'emulated';

export interface Guest {
  /** The run that owns this guest. */
  readonly run: string;
  /** What the guest does in the run: `client`, `server`, `a`, `b`... */
  readonly role: string;
  readonly kind: GuestKind;
  /** The namespace's name for `ip netns` (`<run>-<role>`). */
  readonly netns: string;
  /** The namespace file, for setns(2) (the TAP addon enters it around TUNSETIFF). */
  readonly nsPath: string;
}

export type NamespaceSupport = { ok: true; mode: 'root' | 'userns' } | { ok: false; reason: string };

/** How namespaceSupport() probes the machine; a test replaces it to simulate a machine without namespaces. */
export interface NamespaceProbe {
  uid(): number;
  /** Resolves to null when `command args` exits 0, else to its error text. */
  attempt(command: string, args: string[]): Promise<string | null>;
}

/** Where a run leaves its pid marker so that a later sweep can prove a leftover is a dead run's own. */
export const MARKER_DIR = '/run/linsock/lab';
const NETNS_DIR = '/run/netns';
const ROLE = /^[a-z][a-z0-9]{0,15}$/;
const PREFIX = /^[a-z]{1,4}$/;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

const realProbe: NamespaceProbe = {
  uid: () => process.getuid?.() ?? -1,
  attempt: (command, args) => run(command, args).then(() => null, (e: Error) => e.message),
};

/** Root only inside a user namespace (rootlessArgv()): uid 0 does not map to the host's uid 0. */
function inUserNamespace(): boolean {
  try {
    const [inside, outside] = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(inside === '0' && outside === '0');
  } catch {
    return false;
  }
}

/**
 * Whether this process can make network namespaces: as (namespace-)root, or through unprivileged
 * user namespaces (`unshare -Urnm`, then the lab runs inside as root — see rootlessArgv()).
 * Set LINSOCK_LAB_NO_NAMESPACES=<reason> to simulate a machine that can do neither.
 */
export async function namespaceSupport(probe: NamespaceProbe = realProbe): Promise<NamespaceSupport> {
  const simulated = process.env.LINSOCK_LAB_NO_NAMESPACES;
  if (simulated) return { ok: false, reason: `namespaces disabled by LINSOCK_LAB_NO_NAMESPACES (${simulated})` };
  const why: string[] = [];
  if (probe.uid() === 0) {
    const err = await probe.attempt('unshare', ['--net', 'true']);
    if (err === null) return { ok: true, mode: inUserNamespace() ? 'userns' : 'root' };
    why.push(`as uid 0, creating a network namespace failed (${err})`);
  } else {
    why.push(`not root (uid ${probe.uid()})`);
  }
  const err = await probe.attempt('unshare', ['-Urnm', 'true']);
  if (err === null) return { ok: true, mode: 'userns' };
  why.push(`unprivileged user namespaces are not available (${err}); check kernel.unprivileged_userns_clone and user.max_user_namespaces`);
  return { ok: false, reason: `the lab cannot create network namespaces: ${why.join('; ')}` };
}

/**
 * The command line that re-runs `argv` rootless inside a new user+net+mount namespace, where the
 * lab is root: /run is a private tmpfs (for `ip netns`) and `lo` is up. The "host" is then that namespace.
 */
export function rootlessArgv(argv: string[]): string[] {
  const inner = 'mount -t tmpfs tmpfs /run && ip link set lo up && exec "$@"';
  return ['unshare', '-Urnm', '--', 'sh', '-c', inner, 'linsock-lab', ...argv];
}

// ---- process-wide cleanup: every live run is torn down on SIGINT/SIGTERM and, synchronously, on exit ----

const liveRuns = new Set<LabRun>();
let hooked = false;

function onSignal(signal: NodeJS.Signals): void {
  const runs = [...liveRuns];
  void Promise.allSettled(runs.map((r) => r.teardown())).then(() => {
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

function hookProcess(signals: boolean): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const r of liveRuns) r.teardownSync();
    });
  }
  if (!signals) return;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) if (!process.listeners(sig).includes(onSignal)) process.once(sig, onSignal);
}

/** Process start time in clock ticks (/proc/PID/stat field 22): a pid plus this names one process for good. */
function startTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether `pid startTicks` still names a running process (a reused pid has other start ticks). */
function isProcess(entry: string): boolean {
  const [pidText, ticks] = entry.split(' ');
  const pid = Number(pidText);
  return Number.isSafeInteger(pid) && pid > 0 && ticks !== undefined && ticks !== '' && startTicks(pid) === ticks;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

function pidsInNetnsSync(netns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== process.pid) : [];
}

function listNetnsSync(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

export interface SpawnInGuestOptions extends Omit<SpawnOptions, 'detached'> {
  /** Kill signal at teardown; SIGKILL follows after a grace period. */
  killSignal?: NodeJS.Signals;
}

export interface LabRunOptions {
  /** 1-4 lowercase letters; names are `<prefix>-<6 hex>`. Default `lsk`. */
  prefix?: string;
  /** Result of namespaceSupport(), to skip probing again or to simulate a machine without namespaces. */
  support?: NamespaceSupport;
  /**
   * Tear down every live run on SIGINT/SIGTERM, then exit with 130/143 (default true). Pass false when
   * the caller handles signals itself and calls teardown(); exit-time cleanup is always on.
   */
  handleSignals?: boolean;
}

/** The error thrown when the lab cannot run here; `reason` says what is missing. */
export class NamespacesUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NamespacesUnavailable';
  }
}

export class LabRun {
  readonly guests: Guest[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly cleanups: (() => void | Promise<void>)[] = [];
  private tearingDown: Promise<void> | null = null;
  /** `pid startTicks` of live host-side children, for the marker. */
  private hostPids: string[] = [];
  private done = false;

  private constructor(
    /** `<prefix>-<6 hex>`; every namespace of the run is `<name>-<role>`. */
    readonly name: string,
    readonly mode: 'root' | 'userns',
  ) {}

  static namespaceSupport(probe?: NamespaceProbe): Promise<NamespaceSupport> {
    return namespaceSupport(probe);
  }

  /** Sweeps leftovers of dead runs, then starts a run. Throws NamespacesUnavailable with the reason. */
  static async create(opts: LabRunOptions = {}): Promise<LabRun> {
    const prefix = opts.prefix ?? 'lsk';
    if (!PREFIX.test(prefix)) throw new Error(`lab run prefix '${prefix}' must be 1-4 lowercase letters`);
    const support = opts.support ?? (await namespaceSupport());
    if (!support.ok) throw new NamespacesUnavailable(support.reason);
    if ((process.getuid?.() ?? -1) !== 0)
      throw new NamespacesUnavailable(
        `the lab must be root in its namespace (uid ${process.getuid?.()} here); without root, run it inside a user ` +
          `namespace: ${rootlessArgv(['COMMAND']).map((a) => (/[\s"$&|]/.test(a) ? `'${a}'` : a)).join(' ')}`,
      );
    await LabRun.sweep();
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    const labRun = new LabRun(name, support.mode);
    mkdirSync(MARKER_DIR, { recursive: true });
    labRun.writeMarker();
    liveRuns.add(labRun);
    hookProcess(opts.handleSignals !== false);
    return labRun;
  }

  /** A new namespace `<run>-<role>` with `lo` up. Emulated guests get their TAP from lab/emulated/. */
  async addGuest(role: string, kind: GuestKind): Promise<Guest> {
    this.assertLive();
    if (!ROLE.test(role)) throw new Error(`guest role '${role}' must match ${ROLE}`);
    const netns = `${this.name}-${role}`;
    if (this.guests.some((g) => g.netns === netns)) throw new Error(`guest '${role}' already exists in run ${this.name}`);
    await run('ip', ['netns', 'add', netns]);
    const guest: Guest = { run: this.name, role, kind, netns, nsPath: join(NETNS_DIR, netns) };
    this.guests.push(guest);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    return guest;
  }

  /** Runs `command args` inside the guest's namespace; the process is killed at teardown. */
  spawn(guest: Guest, command: string, args: readonly string[] = [], opts: SpawnInGuestOptions = {}): ChildProcess {
    this.assertLive();
    this.assertOwn(guest);
    // `ip netns exec` execs the command (same pid) after entering the namespace.
    return this.track('ip', ['netns', 'exec', guest.netns, command, ...args], opts);
  }

  /** Runs `command args` on the host side (this process's namespace); killed at teardown like guests' processes. */
  spawnHost(command: string, args: readonly string[] = [], opts: SpawnInGuestOptions = {}): ChildProcess {
    this.assertLive();
    const child = this.track(command, args, opts);
    // Host processes are in no namespace of the run: the marker names them so a sweep can find them.
    child.once('spawn', () => {
      if (child.pid !== undefined && !this.closed) this.hostPids.push(`${child.pid} ${startTicks(child.pid) ?? ''}`);
      this.writeMarker();
    });
    child.once('exit', () => {
      this.hostPids = this.hostPids.filter((l) => l.split(' ')[0] !== String(child.pid));
      if (!this.closed) this.writeMarker();
    });
    return child;
  }

  private writeMarker(): void {
    if (this.done) return;
    const lines = [`${process.pid} ${startTicks(process.pid) ?? ''}`, ...this.hostPids.map((p) => `host ${p}`)];
    writeFileSync(join(MARKER_DIR, `${this.name}.pid`), `${lines.join('\n')}\n`);
  }

  private track(command: string, args: readonly string[], opts: SpawnInGuestOptions): ChildProcess {
    const { killSignal, ...spawnOpts } = opts;
    const child = spawn(command, args, spawnOpts);
    (child as ChildProcess & { labKillSignal?: NodeJS.Signals }).labKillSignal = killSignal ?? 'SIGTERM';
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** Runs `command args` inside the guest to completion and returns its stdout (setup steps: ip, sysctl). */
  exec(guest: Guest, command: string, args: readonly string[]): Promise<string> {
    this.assertOwn(guest);
    return run('ip', ['netns', 'exec', guest.netns, command, ...args]);
  }

  /** Registers a cleanup (close a TAP, stop a relay) that runs at teardown before namespaces go; last in, first out. */
  onTeardown(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  get closed(): boolean {
    return this.done || this.tearingDown !== null;
  }

  /** Kills the run's processes, runs cleanups, deletes its namespaces and marker. Idempotent. */
  teardown(): Promise<void> {
    this.tearingDown ??= this.teardownAsync();
    return this.tearingDown;
  }

  private async teardownAsync(): Promise<void> {
    const children = [...this.children];
    for (const c of children) if (c.pid !== undefined) killQuietly(c.pid, (c as ChildProcess & { labKillSignal?: NodeJS.Signals }).labKillSignal ?? 'SIGTERM');
    await Promise.all(children.map((c) => exited(c, 1000)));
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) killQuietly(c.pid, 'SIGKILL');
    await Promise.all(children.map((c) => exited(c, 1000)));
    const errors: string[] = [];
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    this.teardownSync();
    if (errors.length) throw new Error(`lab run ${this.name}: teardown finished, but cleanups failed: ${errors.join('; ')}`);
  }

  /** Exit-time teardown: no event loop left, so everything is synchronous and best effort. */
  teardownSync(): void {
    if (this.done) return;
    for (const c of this.children) if (c.pid !== undefined) killQuietly(c.pid, 'SIGKILL');
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        void fn();
      } catch {
        /* best effort at exit */
      }
    }
    removeRunNamespaces(this.name);
    rmSync(join(MARKER_DIR, `${this.name}.pid`), { force: true });
    this.done = true;
    liveRuns.delete(this);
  }

  /**
   * Removes what earlier runs left behind when their process died without teardown: namespaces
   * (and every process still inside them) of runs whose marker names a process that no longer exists.
   * Returns the names of the runs swept. Runs of live processes are never touched.
   */
  static async sweep(): Promise<string[]> {
    let markers: string[];
    try {
      markers = readdirSync(MARKER_DIR).filter((f) => f.endsWith('.pid'));
    } catch {
      return [];
    }
    const swept: string[] = [];
    for (const file of markers) {
      const runName = file.slice(0, -'.pid'.length);
      let text: string;
      try {
        text = readFileSync(join(MARKER_DIR, file), 'utf8');
      } catch {
        continue;
      }
      const [owner = '', ...hosts] = text.trim().split('\n');
      if (isProcess(owner)) continue;
      for (const line of hosts) {
        const entry = line.replace(/^host /, '');
        if (isProcess(entry)) killQuietly(Number(entry.split(' ')[0]), 'SIGKILL');
      }
      removeRunNamespaces(runName);
      rmSync(join(MARKER_DIR, file), { force: true });
      swept.push(runName);
    }
    return swept;
  }

  private assertLive(): void {
    if (this.closed) throw new Error(`lab run ${this.name} is torn down`);
  }

  private assertOwn(guest: Guest): void {
    if (guest.run !== this.name) throw new Error(`guest ${guest.netns} belongs to run ${guest.run}, not ${this.name}`);
  }
}

function removeRunNamespaces(runName: string): void {
  for (const ns of listNetnsSync()) {
    if (!ns.startsWith(`${runName}-`)) continue;
    for (const pid of pidsInNetnsSync(ns)) killQuietly(pid, 'SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

function exited(c: ChildProcess, ms: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
