// Which accelerator a VM gets: KVM where /dev/kvm opens and QEMU can start a `-cpu host` machine with it,
// TCG (QEMU's translator, slower, always there) otherwise. LINSOCK_VM_ACCEL=kvm|tcg forces one.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export type Accel = 'kvm' | 'tcg';
export type AccelChoice = Accel | 'auto';

export interface AccelDecision {
  accel: Accel;
  /** Why KVM was not used, when it was not. */
  why?: string;
}

/** QEMU's -accel and -cpu for each: `-cpu max` under TCG emulates every feature it can. */
export const ACCEL_ARGS: Record<Accel, string[]> = {
  kvm: ['-accel', 'kvm', '-cpu', 'host'],
  tcg: ['-accel', 'tcg', '-cpu', 'max'],
};

/** A stopped (-S) machine that is still alive after this long started: KVM accepted its vCPU. */
const PROBE_MS = 1500;

let probed: Promise<AccelDecision> | null = null;

function probeKvm(qemu: string): Promise<AccelDecision> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch (e) {
    return Promise.resolve({ accel: 'tcg', why: `/dev/kvm is not usable (${(e as NodeJS.ErrnoException).code ?? 'missing'})` });
  }
  return new Promise((resolve) => {
    // Some hosts expose a /dev/kvm that cannot run an ordinary guest (e.g. a nested hypervisor that
    // rejects the host CPU's MSRs): QEMU then dies at once, before any guest code runs.
    const child = spawn(qemu, [...ACCEL_ARGS.kvm, '-nodefaults', '-no-user-config', '-display', 'none', '-S', '-monitor', 'none', '-serial', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { if (err.length < 4096) err += d.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ accel: 'kvm' });
    }, PROBE_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ accel: 'tcg', why: `QEMU could not start with KVM (${e.message})` });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === null && signal === 'SIGKILL') return;
      resolve({ accel: 'tcg', why: `QEMU with KVM exited at once (${signal ?? `exit ${code}`}: ${err.trim().split('\n')[0] ?? ''})` });
    });
  });
}

export function chooseAccel(qemu: string, choice: AccelChoice = 'auto'): Promise<AccelDecision> {
  const forced = process.env.LINSOCK_VM_ACCEL;
  if (forced !== undefined && forced !== 'kvm' && forced !== 'tcg') throw new Error(`LINSOCK_VM_ACCEL must be kvm or tcg, not '${forced}'`);
  const want = (forced as Accel | undefined) ?? choice;
  if (want !== 'auto') return Promise.resolve({ accel: want });
  probed ??= probeKvm(qemu);
  return probed;
}
