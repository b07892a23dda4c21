// Starts `linsock start` (lab/cli.ts through tsx) and waits for its ready line; shared by the start tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export interface Started {
  child: ChildProcess;
  out: () => string;
  ready: { trace: string; guest: string; tokenFile: string };
}

export function startLinsock(args: string[], cwd = ROOT): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'lab', 'cli.ts'), 'start', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`linsock start printed no ready line within 20 s; stdout: ${out} stderr: ${err}`)), 20_000);
    const onData = (): void => {
      const m = /^linsock ready trace=(\S+) guest=(\S+) token-file=(\S+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      res({ child, out: () => out + err, ready: { trace: m[1] as string, guest: m[2] as string, tokenFile: m[3] as string } });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`linsock start exited (${code ?? sig}) before it was ready; stdout: ${out} stderr: ${err}`));
    });
  });
}

