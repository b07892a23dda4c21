// Two VMs' QEMU NICs joined through the host for inter-guest: their TAPs are moved into a network
// namespace made for the run (lsvm<pid>br<k>) and enslaved to a Linux bridge there, so frames go VM →
// TAP → host kernel bridge → TAP → VM, and nothing of the run reaches the host's own namespace. The TAP
// fds QEMU holds stay valid across the move. Removed on remove(), at process exit, and by the next run's
// sweep when the process was killed.

import { execFileSync } from 'node:child_process';
import { pidAlive } from './leftovers';
import { runCommand } from './run-command';

const NAME = /^lsvm(\d+)br\d+$/;
const live = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

export interface VmBridge {
  netns: string;
  remove(): Promise<void>;
}

async function namespaces(): Promise<string[]> {
  const out = (await runCommand('ip', ['netns', 'list'])).toString();
  return [...out.matchAll(/^(\S+)/gm)].map((m) => m[1] as string);
}

/** Deletes bridge namespaces of VM runs whose process is gone. */
export async function sweepDeadBridges(): Promise<string[]> {
  const swept: string[] = [];
  for (const ns of await namespaces()) {
    const m = NAME.exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    await runCommand('ip', ['netns', 'del', ns]).catch(() => undefined);
    swept.push(ns);
  }
  return swept;
}

/** Moves `taps` into a fresh namespace and bridges them there; each TAP loses its host address. */
export async function bridgeTaps(taps: string[]): Promise<VmBridge> {
  if (taps.length < 2) throw new Error('a bridge joins at least two TAPs');
  await sweepDeadBridges();
  const netns = `lsvm${process.pid}br${counter++}`;
  await runCommand('ip', ['netns', 'add', netns]);
  live.add(netns);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const ns of live) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
        } catch {
          // already gone
        }
      }
    });
  }
  const inNs = (args: string[]): Promise<Buffer> => runCommand('ip', ['-n', netns, ...args]);
  const remove = async (): Promise<void> => {
    if (!live.delete(netns)) return;
    // The TAPs go with the namespace (a TAP is deleted, not handed back, when its namespace ends).
    await runCommand('ip', ['netns', 'del', netns]).catch(() => undefined);
  };
  try {
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['link', 'add', 'br0', 'type', 'bridge']);
    for (const tap of taps) {
      await runCommand('ip', ['link', 'set', tap, 'netns', netns]);
      await inNs(['link', 'set', tap, 'master', 'br0']);
      await inNs(['link', 'set', tap, 'up']);
    }
    await inNs(['link', 'set', 'br0', 'up']);
  } catch (e) {
    await remove();
    throw e;
  }
  return { netns, remove };
}
