// How the lab starts its own helper processes (`linsock _workload`, `linsock _server`): the same Node,
// flags and entry script as this process, so it works from dist/linsock.js and under tsx alike.

import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * argv that runs this very `linsock` entry point: [node, ...node flags, script]. When this process is not
 * `linsock` itself (a test or a host that embeds the runner), the lab's own cli.ts runs under tsx.
 */
export function linsockArgv(): string[] {
  const script = process.argv[1];
  if (!script) throw new Error('cannot tell which script is running linsock (process.argv[1] is empty)');
  if (!/(^|[/\\])(linsock\.js|cli\.ts)$/.test(script)) {
    const cli = join(__dirname, '..', 'cli.ts');
    if (existsSync(cli)) return [process.execPath, '--import', 'tsx', cli];
  }
  return [process.execPath, ...process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && !a.startsWith('--inspect')), script];
}

/** A result line is a few hundred bytes; a child that writes this much without one is broken. */
const MAX_RESULT_CHARS = 1 << 20;

/** The first line a child writes on stdout, parsed as JSON; rejects when it exits or times out first. */
export function firstJsonLine<T>(child: ChildProcess, what: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} gave no result within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0 && buf.length <= MAX_RESULT_CHARS) return;
      clearTimeout(timer);
      child.stdout?.removeListener('data', onData);
      if (nl < 0) {
        child.kill('SIGKILL');
        reject(new Error(`${what} printed over ${MAX_RESULT_CHARS} characters without a newline, not a JSON result`));
        return;
      }
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as T);
      } catch {
        reject(new Error(`${what} printed ${JSON.stringify(buf.slice(0, 200))}, not a JSON result`));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${signal ?? `code ${code}`}) before printing its result`));
    });
  });
}
