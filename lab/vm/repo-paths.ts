// Where the VM's files live: the repository (its sources are what the guest agent is built from) and the
// shared cache under it (.cache/vm: kernel, initramfs, agent bundle), found from this file's folder.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest folder above this file that holds lab/vm/agent.ts. */
export function repoRoot(): string {
  let dir = resolve(__dirname);
  for (;;) {
    if (existsSync(join(dir, 'lab', 'vm', 'agent.ts')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the linsock repository above ${__dirname}: the VM lab needs its sources (lab/vm/agent.ts)`);
    dir = up;
  }
}

/** LINSOCK_VM_CACHE, else <repo>/.cache/vm. */
export function vmCacheDir(): string {
  return process.env.LINSOCK_VM_CACHE ?? join(repoRoot(), '.cache', 'vm');
}
