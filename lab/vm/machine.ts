// One QEMU VM for the lab: `-nodefaults -no-user-config -smp 1` and only the devices asked for — the
// agent port, the delegation channel (a virtio-serial port whose chardev is linsockd's guest socket, so the
// daemon sees the VM as one more guest), the program port (the same, for the interposer of `linsock run`)
// and at most one emulated NIC (e1000 or virtio-net on a TAP, vhost off). Everything a VM made — QEMU,
// its TAP, its files — goes when it stops: on close(), on a failed boot, when QEMU dies, on SIGINT/SIGTERM
// and at process exit.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { ACCEL_ARGS, chooseAccel, type Accel, type AccelChoice } from './accel';
import { AgentLink } from './agent-link';
import { buildAgent } from './agent-bundle';
import { AGENT_PORT_NAME, CHANNEL_PORT_NAME, PROGRAM_PORT_NAME } from './agent-protocol';
import { ensureVmImage } from './image';
import { vmCacheDir } from './repo-paths';
import { runFolder, sweepDeadFolders } from './leftovers';
import { haveCommand } from './run-command';
import { createTap, type VmTap } from './tap';

export type NicMode = 'e1000' | 'virtio';

/** Each NIC mode: QEMU's device, and what a result must say about it (MTU and offloads change figures). */
export const NIC_MODES: Record<NicMode, { device: string; profile: string }> = {
  e1000: { device: 'e1000', profile: 'QEMU e1000 on a TAP, MTU 1500, no offloads' },
  virtio: { device: 'virtio-net-pci', profile: 'QEMU virtio-net on a TAP (vnet_hdr: TSO/checksum offload), MTU 1500, vhost off' },
};

export const QEMU_APT_LINE = 'apt-get install --no-install-recommends qemu-system-x86';
const QEMU = 'qemu-system-x86_64';
const CONSOLE_LINES = 40;
const DEFAULT_BOOT_TIMEOUT_MS = 120_000;

export interface MachineOptions {
  /** An emulated NIC on a TAP; none when absent. */
  nic?: NicMode | null;
  /** linsockd's guest socket: the channel port connects to it (QEMU as client, retrying every second). */
  channelSocket?: string | null;
  /**
   * Where the program port (linsock.program: unmodified programs in the VM, `linsock run`'s interposer)
   * connects, QEMU as client retrying every second: a ProgramGate in front of linsockd. None when absent.
   */
  programSocket?: string | null;
  /**
   * The VM's address on its NIC, instead of the TAP's guest address (inter-guest: two VMs in one subnet on
   * a bridge of their TAPs; the TAP's own host address is then unused).
   */
  nicAddress?: string;
  accel?: AccelChoice;
  memoryMb?: number;
  bootTimeoutMs?: number;
  /** Folders of the caller's that go with this VM (removed when it stops, including on SIGINT). */
  alsoRemove?: string[];
}

export interface VmNic {
  mode: NicMode;
  /** The VM's MAC on it. */
  mac: string;
  tap: string;
  hostAddress: string;
  guestAddress: string;
}

export interface Vm {
  /** The VM's name, unique in this process (`vm-<pid>-<n>`): its guest name at linsockd and in traces. */
  name: string;
  accel: Accel;
  /** Why KVM was not used, when it was not. */
  accelNote?: string;
  kernel: string;
  nic: VmNic | null;
  agent: AgentLink;
  /** QEMU's pid (tests kill it). */
  pid: number;
  /** The folders this VM made (agent bundle, sockets); removed when it stops. */
  files: string[];
  /** The last lines of the VM's console and QEMU's messages. */
  consoleTail(): string;
  /** Resolves when QEMU has exited, with how. */
  readonly exited: Promise<string>;
  /** Asks the agent to stop, then stops QEMU and removes the TAP and files; safe to call twice. */
  close(): Promise<void>;
}

export async function qemuProblem(): Promise<string | null> {
  return (await haveCommand(QEMU)) ? null : `${QEMU} is not installed: ${QEMU_APT_LINE}`;
}

let vmCounter = 0;

const liveVms = new Map<ChildProcess, { close: () => Promise<void>; removeFiles: () => void }>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** On SIGINT/SIGTERM while VMs run: stop them all, then let the signal do what it would have done. */
function onSignal(signal: NodeJS.Signals): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  void Promise.allSettled([...liveVms.values()].map((vm) => vm.close())).then(() => process.kill(process.pid, signal));
}

function track(child: ChildProcess, close: () => Promise<void>, removeFiles: () => void): void {
  if (liveVms.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  liveVms.set(child, { close, removeFiles });
}

function untrack(child: ChildProcess): void {
  liveVms.delete(child);
  if (liveVms.size === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
}

// At exit (an uncaught error too) nothing asynchronous runs: kill QEMU and remove the files now (tap.ts
// removes the TAPs the same way).
process.on('exit', () => {
  for (const [child, vm] of liveVms) {
    child.kill('SIGKILL');
    vm.removeFiles();
  }
});

function randomMac(): string {
  const b = randomBytes(3);
  return `52:54:00:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

function stopProcess(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const term = setTimeout(() => child.kill('SIGTERM'), 3000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
  return exited.then(() => {
    clearTimeout(term);
    clearTimeout(kill);
  });
}

export async function bootVm(o: MachineOptions = {}): Promise<Vm> {
  const problem = await qemuProblem();
  if (problem) throw new Error(problem);
  const image = await ensureVmImage();
  const decision = await chooseAccel(QEMU, o.accel);
  const name = `vm-${process.pid}-${++vmCounter}`;
  sweepDeadFolders(vmCacheDir());
  sweepDeadFolders(tmpdir());
  const runDir = runFolder(vmCacheDir(), 'run');
  const sockDir = runFolder(tmpdir(), 'linsock-vm');
  let tap: VmTap | null = null;
  let link: AgentLink | null = null;
  const cleanupFiles = (): void => {
    rmSync(runDir, { recursive: true, force: true });
    rmSync(sockDir, { recursive: true, force: true });
    for (const d of o.alsoRemove ?? []) rmSync(d, { recursive: true, force: true });
  };
  let child: ChildProcess;
  const nicMac = randomMac();
  try {
    const agentFile = join(runDir, 'agent.cjs');
    await buildAgent(agentFile);
    if (o.nic) tap = await createTap();
    link = await AgentLink.listen(join(sockDir, 'agent.sock'));
    const append = ['console=ttyS0', 'panic=-1', 'loglevel=3', `linsock_node=${process.execPath}`, `linsock_agent=${agentFile}`];
    const args = [
      ...ACCEL_ARGS[decision.accel],
      '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
      '-smp', '1', '-m', String(o.memoryMb ?? 512),
      '-kernel', image.vmlinux, '-initrd', image.initramfs,
      // The host's root, read-only: the VM runs the host's own node and the agent built from this checkout.
      '-fsdev', 'local,id=fs0,path=/,security_model=none,readonly=on,multidevs=remap',
      '-device', 'virtio-9p-pci,fsdev=fs0,mount_tag=hostroot',
      '-device', 'virtio-serial-pci,id=vser0',
      '-chardev', `socket,id=agent,path=${join(sockDir, 'agent.sock')}`,
      '-device', `virtserialport,bus=vser0.0,chardev=agent,name=${AGENT_PORT_NAME}`,
    ];
    if (o.channelSocket) {
      // reconnect: QEMU starts before linsockd listens (the daemon wants HELLO soon after a connect, and
      // the VM takes seconds to boot) and comes back if the daemon drops the connection.
      args.push('-chardev', `socket,id=channel,path=${o.channelSocket},reconnect=1`,
        '-device', `virtserialport,bus=vser0.0,chardev=channel,name=${CHANNEL_PORT_NAME}`);
    }
    if (o.programSocket) {
      args.push('-chardev', `socket,id=program,path=${o.programSocket},reconnect=1`,
        '-device', `virtserialport,bus=vser0.0,chardev=program,name=${PROGRAM_PORT_NAME}`);
    }
    if (o.nic && tap) {
      args.push('-netdev', `tap,id=nic0,ifname=${tap.name},script=no,downscript=no,vhost=off`,
        '-device', `${NIC_MODES[o.nic].device},netdev=nic0,mac=${nicMac}`);
      if (o.nicAddress !== undefined && !isIPv4(o.nicAddress)) throw new Error(`nicAddress must be an IPv4 address, not '${o.nicAddress}'`);
      append.push(`linsock_net=${nicMac}@${o.nicAddress ?? tap.guestAddress}/${tap.prefix}`);
    }
    args.push('-append', append.join(' '));
    // setpriv --pdeathsig: QEMU dies with this process even when it is killed without a chance to clean up.
    const wrapped = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', QEMU, ...args] : [QEMU, ...args];
    child = spawn(wrapped[0] as string, wrapped.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    await link?.close();
    await tap?.remove();
    cleanupFiles();
    throw e;
  }

  const lines: string[] = [];
  let partial = '';
  const onOutput = (d: Buffer): void => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    if (partial.length > 4096) partial = partial.slice(-4096);
    for (const l of parts) {
      const line = l.replace(/\r$/, '');
      if (!line) continue;
      lines.push(line);
      if (lines.length > CONSOLE_LINES) lines.shift();
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const consoleTail = (): string => [...lines, partial].filter(Boolean).join('\n');
  const agent = link;
  let closing = false;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(`could not start: ${e.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit ${code}`));
  });
  const died = (how: string): Error => new Error(`QEMU stopped unexpectedly (${how}); its last output:\n${consoleTail()}`);
  void exited.then((how) => {
    if (!closing) agent.fail(died(how));
  });
  // The port's socket usually closes a moment before QEMU's exit is reported: wait for it to say why.
  agent.onPortClosed = () => {
    const timer = setTimeout(() => agent.fail(new Error(`the VM closed its agent port; its last output:\n${consoleTail()}`)), 2000);
    void exited.then((how) => {
      clearTimeout(timer);
      agent.fail(closing ? new Error('the VM is stopping') : died(how));
    });
  };

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      // A clean stop: the agent exits and init powers the VM off; QEMU is signalled if it does not.
      if (child.exitCode === null && child.signalCode === null) await agent.request({ op: 'quit' }, 2000).catch(() => undefined);
      await stopProcess(child, exited);
      untrack(child);
      await agent.close();
      await tap?.remove();
      cleanupFiles();
    })();
    return closed;
  };
  track(child, close, cleanupFiles);

  const bootTimeoutMs = o.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      agent.ready(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the VM did not start its agent within ${bootTimeoutMs / 1000} s (accel ${decision.accel}); its last output:\n${consoleTail()}`)), bootTimeoutMs); }),
    ]);
  } catch (e) {
    await close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    name,
    accel: decision.accel,
    accelNote: decision.why,
    kernel: image.release,
    nic: o.nic && tap ? { mode: o.nic, mac: nicMac, tap: tap.name, hostAddress: tap.hostAddress, guestAddress: o.nicAddress ?? tap.guestAddress } : null,
    agent,
    pid: child.pid ?? -1,
    files: [runDir, sockDir, ...(o.alsoRemove ?? [])],
    consoleTail,
    exited,
    close,
  };
}
