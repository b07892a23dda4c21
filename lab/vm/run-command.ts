// Runs a host command for the VM lab and says which command failed and why.

import { execFile } from 'node:child_process';

export interface CommandOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Bytes written to the command's stdin. */
  input?: Buffer;
}

export function runCommand(command: string, args: string[], o: CommandOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: o.cwd, timeout: o.timeoutMs ?? 60_000, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.toString().trim() || err.message}`));
      else resolve(stdout);
    });
    if (o.input) {
      // A command may stop reading before the input ends (xz --single-stream does, by design): the EPIPE
      // that follows is not a failure of ours, and its exit status says whether the command failed.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(o.input);
    }
  });
}

/** Resolves true when `command` is on PATH. */
export async function haveCommand(command: string): Promise<boolean> {
  try {
    await runCommand('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}
