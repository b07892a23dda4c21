// `linsock run --path emulated`: an unmodified curl in a namespace whose NIC is a TAP behind the device
// model fetches a file from a host server on the host TAP's address (which the run names on stderr and in
// LINSOCK_HOST_ADDRESS); the bytes are checked, and the usage errors of --mode.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linsockRun, requireProgram, root } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'linsock-emulated-'));
let server: Server | null = null;

after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('curl on the emulated path (virtio) fetches 4 MiB from a host server through the device model', async () => {
  requireProgram('curl', 'curl');
  const file = randomBytes(4 * 1024 * 1024);
  const out = join(dir, 'got');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  // The host address exists once the run made its TAP: the guest retries until the server listens there.
  const script = `for i in $(seq 1 100); do curl -sS -o ${out} http://$LINSOCK_HOST_ADDRESS:${port}/file 2>/dev/null && exit 0; sleep 0.1; done; exit 9`;
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lab', 'cli.ts'), 'run', '--path', 'emulated', '--mode', 'virtio', '--', 'sh', '-c', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const host = new Promise<string>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /the host is (10\.199\.\d+\.1) /.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => resolve(''));
  });
  const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const address = await host;
  assert.ok(address, `the run names the host address: ${stderr}`);
  server = createServer((_req, res) => res.end(file));
  await new Promise<void>((resolve) => server!.listen(port, address, resolve));
  assert.equal(await code, 0, stderr);
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  assert.equal(sha(readFileSync(out)), sha(file));
});

test('--mode is checked and belongs to --path emulated', async () => {
  const bad = await linsockRun(['--path', 'emulated', '--mode', 'rtl8139', '--', 'true']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--mode must be e1000 or virtio, got 'rtl8139'/);
  const misplaced = await linsockRun(['--path', 'delegated', '--mode', 'e1000', '--', 'true']);
  assert.equal(misplaced.code, 2);
  assert.match(misplaced.stderr, /--mode applies to --path emulated only/);
});
