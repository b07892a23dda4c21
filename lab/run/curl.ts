// `linsock bench --program curl`: Debian's curl downloads a file from Debian's nginx on the host, on each
// path (`linsock run`), and the file it wrote is checked byte for byte (sha256). The figure is curl's own
// average download speed (`%{speed_download}`), so it is the program's, as iperf3's are.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHostNginx } from './nginx';
import { runProgram, type RunPath } from './run-program';

/** The file's size: 64 MiB, as issue 14's "done when" names it. */
export const CURL_FILE_BYTES = 64 * 1024 * 1024;

export interface CurlResult {
  bytes: number;
  /** curl's average speed, MB/s (10^6 bytes). */
  mbPerS: number;
  /** The downloaded file's sha256 equals the served file's. */
  verified: boolean;
  exitCode: number;
  stderr: string;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** A served file under `dir`/www and its sha256. */
export function makeServedFile(dir: string, bytes = CURL_FILE_BYTES): { root: string; sha256: string } {
  const root = join(dir, 'www');
  mkdirSync(root, { recursive: true });
  const data = randomBytes(bytes);
  writeFileSync(join(root, 'big'), data);
  return { root, sha256: createHash('sha256').update(data).digest('hex') };
}

/** `curl -o` of http://127.0.0.1:`port`/big on `path`; the written file is checked against `sha256`. */
export async function curlDownload(path: RunPath, port: number, out: string, sha256: string, traceFile?: string): Promise<CurlResult> {
  let stdout = '';
  let stderr = '';
  rmSync(out, { force: true });
  const exitCode = await runProgram({
    path,
    command: 'curl',
    args: ['-sS', '-o', out, '-w', '%{size_download} %{speed_download}', `http://127.0.0.1:${port}/big`],
    traceFile,
    stdio: ['ignore', 'pipe', 'pipe'],
    onSpawn: (c) => {
      c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    },
  });
  const m = /^(\d+) (\d+(?:\.\d+)?)$/.exec(stdout.trim());
  if (exitCode !== 0 || !m) return { bytes: 0, mbPerS: 0, verified: false, exitCode, stderr: stderr.trim() || `curl printed ${JSON.stringify(stdout)}` };
  const verified = (await sha256File(out).catch(() => '')) === sha256;
  return { bytes: Number(m[1]), mbPerS: Number(m[2]) / 1e6, verified, exitCode, stderr: stderr.trim() };
}

/** Host nginx serving a fresh 64 MiB file for the runs of `fn` (port, sha256), torn down after. */
export async function withHostNginx<T>(dir: string, port: number, fn: (sha256: string) => Promise<T>): Promise<T> {
  const { root, sha256 } = makeServedFile(dir);
  const nginx = startHostNginx({ prefix: join(dir, 'nginx'), root, host: '127.0.0.1', port, workers: 1 });
  try {
    await nginx.ready;
    return await fn(sha256);
  } finally {
    await nginx.stop();
  }
}
