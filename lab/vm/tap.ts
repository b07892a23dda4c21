// The host side of a VM's emulated NIC: a TAP device named after this process (lsvm<pid>n<k>) in a
// private 10.199.N.0/24, host .1, guest .2, traffic only between host and VM. Deleted when the VM stops,
// on process exit, and — for a process that was killed — by the next run's sweep.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { pidAlive } from './leftovers';
import { runCommand } from './run-command';

export interface VmTap {
  name: string;
  hostAddress: string;
  guestAddress: string;
  prefix: number;
  remove(): Promise<void>;
}

const NAME = /^lsvm(\d+)n\d+$/;
const live = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

async function linkNames(): Promise<string[]> {
  const out = (await runCommand('ip', ['-o', 'link', 'show'])).toString();
  return [...out.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1] as string);
}

/** Deletes TAPs left by VM runs whose process is gone. Returns their names. */
export async function sweepDeadTaps(): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await linkNames()) {
    const m = NAME.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await runCommand('ip', ['link', 'del', name]).catch(() => undefined);
    swept.push(name);
  }
  return swept;
}

/** A /24 of 10.199.0.0/16 that no interface of this host uses, starting from one that depends on the pid. */
async function freeSubnet(): Promise<number> {
  const used = new Set([...(await runCommand('ip', ['-4', '-o', 'addr', 'show'])).toString().matchAll(/inet 10\.199\.(\d+)\./g)].map((m) => Number(m[1])));
  const start = (process.pid + counter * 7) % 254;
  for (let i = 0; i < 254; i++) {
    const n = ((start + i) % 254) + 1;
    if (!used.has(n)) return n;
  }
  throw new Error('no free 10.199.N.0/24 for a VM TAP: 254 are in use; stop other VM runs');
}

function removeSync(name: string): void {
  try {
    execFileSync('ip', ['link', 'del', name], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // already gone
  }
}

export async function createTap(): Promise<VmTap> {
  if (process.getuid?.() !== 0) throw new Error('a VM NIC needs a TAP device, which needs root (CAP_NET_ADMIN); run as root');
  await sweepDeadTaps();
  const name = `lsvm${process.pid}n${counter++}`;
  if (name.length > 15) throw new Error(`TAP name ${name} is longer than 15 characters`);
  const subnet = await freeSubnet();
  const hostAddress = `10.199.${subnet}.1`;
  await runCommand('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  live.add(name);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => { for (const n of live) removeSync(n); });
  }
  const remove = async (): Promise<void> => {
    if (!live.delete(name)) return;
    await runCommand('ip', ['link', 'del', name]).catch(() => undefined);
  };
  try {
    // Router solicitations and the like would only add noise between host and VM.
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
    } catch {
      // no IPv6 on this host
    }
    await runCommand('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', name]);
    await runCommand('ip', ['link', 'set', name, 'up']);
  } catch (e) {
    await remove();
    throw e;
  }
  return { name, hostAddress, guestAddress: `10.199.${subnet}.2`, prefix: 24, remove };
}

/** Whether a TAP of that name exists (tests check that nothing is left). */
export async function tapExists(name: string): Promise<boolean> {
  return (await linkNames()).includes(name);
}
