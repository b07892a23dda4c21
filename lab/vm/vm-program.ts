// An unmodified program in the VM, delegated: the agent runs this checkout's `linsock run --path delegated
// --daemon /dev/virtio-ports/linsock.program -- COMMAND ARGS` on the host's node (over the 9p root), so the
// interposer (native/interposer, preloaded by `linsock run`) opens the program port as
// its channel to linsockd: the same frames as over a Unix socket, written to the character device.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findPreload, PRELOAD_MISSING } from '../../native/interposer/preload';
import { PROGRAM_PORT_NAME, type ExecResult } from './agent-protocol';
import type { Vm } from './machine';
import { repoRoot } from './repo-paths';

/** The program port as the VM's init names it (init.sh). */
export const PROGRAM_DEVICE = `/dev/virtio-ports/${PROGRAM_PORT_NAME}`;

/** What `linsock run` needs from this checkout, built: the CLI bundle and the interposer. */
function cliEntry(): string {
  const root = repoRoot();
  const entry = join(root, 'dist', 'linsock.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (the VM runs the CLI bundle, not the sources)`);
  if (!findPreload()) throw new Error(PRELOAD_MISSING);
  return entry;
}

/**
 * Runs `command args` in `vm` through `linsock run`, delegated over the program port (the VM must have
 * been booted with `programSocket`, and linsockd must listen there). One program at a time: the port is
 * one byte stream; after it, the agent ends its session so that the next program starts afresh.
 */
export function runDelegatedInVm(vm: Vm, command: string, args: string[], timeoutMs = 60_000): Promise<ExecResult> {
  const argv = [process.execPath, cliEntry(), 'run', '--path', 'delegated', '--daemon', PROGRAM_DEVICE, '--', command, ...args];
  return vm.agent.exec({ argv, timeoutMs, releasePort: PROGRAM_PORT_NAME });
}
