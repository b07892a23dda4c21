// Folders of VM runs carry their process id (run-<pid>-…, linsock-vm-<pid>-…): what a killed run left
// is removed by the next one, as tap.ts does for TAP devices.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const PID = /^(?:run|linsock-vm|linsock-vmbench)-(\d+)-/;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** mkdtemp under `parent` with this process's id in the name, so that a sweep can tell whose it is. */
export function runFolder(parent: string, prefix: 'run' | 'linsock-vm' | 'linsock-vmbench'): string {
  return mkdtempSync(join(parent, `${prefix}-${process.pid}-`));
}

/** Removes the folders under `parent` that VM runs of dead processes left. */
export function sweepDeadFolders(parent: string): string[] {
  const swept: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return swept;
  }
  for (const name of names) {
    const m = PID.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}
