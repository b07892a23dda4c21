// /metrics as the field's own tools read it: Debian's `promtool check metrics` lints the exposition of a
// real linsockd process, and a real Prometheus (on loopback, bounded run, its own temp storage) scrapes it
// with the daemon's token and answers a query for a counter the daemon counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createChannel, connect } from '../../guest';

const ROOT = join(__dirname, '..', '..');
const missing = ['promtool', 'prometheus'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
// Not a silent skip: without Debian's prometheus package these tests fail and say what to install.
const need = (): void => assert.deepEqual(missing, [], `apt-get install prometheus (it brings promtool): ${missing.join(', ')} missing`);

interface Daemon { proc: ChildProcess; metricsUrl: string; tokenFile: string; guestPath: string }

async function startLinsockd(dir: string): Promise<Daemon> {
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ policy: { rules: [{ action: 'allow', ops: ['connect'], cidr: ['127.0.0.1'] }] } }));
  const args = [join(ROOT, 'bin', 'linsockd.js'), '--guest-socket', join(dir, 'guest.sock'), '--trace-port', '0', '--token-file', join(dir, 'token'), '--config', config];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const m = /^linsockd ready trace=(\S+) guest=(\S+) token-file=(\S+)/.exec(line);
    if (m) return { proc, metricsUrl: (m[1] as string).replace(/^ws/, 'http').replace(/\/trace$/, '/metrics'), guestPath: m[2] as string, tokenFile: m[3] as string };
  }
  throw new Error('linsockd exited before its ready line');
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Some delegated calls, so that linsock_calls_total is a real count and not a zero. */
async function delegatedEcho(guestPath: string): Promise<void> {
  const echo = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const channel = createChannel({ path: guestPath }, { guest: 'prom-guest' });
  try {
    await channel.ready;
    const sock = connect({ channel, host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
    await once(sock, 'connect');
    let got = 0;
    sock.on('data', (d: Buffer) => (got += d.length));
    for (let i = 0; i < 10; i++) sock.write(Buffer.alloc(100, i));
    while (got < 1000) await new Promise((r) => setTimeout(r, 10));
    sock.end();
    await once(sock, 'close');
  } finally {
    await channel.close();
    echo.close();
  }
}

async function scrapeValue(d: Daemon, name: string): Promise<number> {
  const res = await fetch(d.metricsUrl, { headers: { Authorization: `Bearer ${readFileSync(d.tokenFile, 'utf8').trim()}` } });
  assert.equal(res.status, 200);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await res.text());
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

test('promtool check metrics finds no problem in a live daemon\'s /metrics', { timeout: 30_000 }, async () => {
  need();
  const dir = mkdtempSync(join(tmpdir(), 'linsock-prom-'));
  const d = await startLinsockd(dir);
  try {
    await delegatedEcho(d.guestPath);
    const res = await fetch(d.metricsUrl, { headers: { Authorization: `Bearer ${readFileSync(d.tokenFile, 'utf8').trim()}` } });
    const text = await res.text();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.status, 0, `promtool: ${lint.stdout}${lint.stderr}`);
    assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '', 'promtool printed lint findings');
  } finally {
    d.proc.kill('SIGTERM');
    await once(d.proc, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real Prometheus scrapes linsockd with its token and returns the calls counter', { timeout: 60_000 }, async () => {
  need();
  const dir = mkdtempSync(join(tmpdir(), 'linsock-prom-'));
  const d = await startLinsockd(dir);
  let prom: ChildProcess | null = null;
  try {
    await delegatedEcho(d.guestPath);
    const calls = await scrapeValue(d, 'linsock_calls_total');
    assert.ok(calls >= 3, `the guest's connect, sends and receives were counted (${calls})`);
    const target = new URL(d.metricsUrl);
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: linsockd',
      `    authorization: { type: Bearer, credentials_file: ${d.tokenFile} }`,
      `    static_configs: [ { targets: ['${target.host}'] } ]`,
      '',
    ].join('\n'));
    const port = await freePort();
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    const query = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('linsock_calls_total{job="linsockd"}')}`;
    let value: number | null = null;
    for (const t0 = Date.now(); value === null && Date.now() - t0 < 40_000; await new Promise((r) => setTimeout(r, 500))) {
      const body = await fetch(query).then((r) => r.json() as Promise<{ data?: { result?: { value: [number, string] }[] } }>).catch(() => null);
      const v = body?.data?.result?.[0]?.value[1];
      if (v !== undefined) value = Number(v);
    }
    assert.equal(value, calls, 'Prometheus holds the counter the daemon served (no calls since)');
  } finally {
    prom?.kill('SIGTERM');
    if (prom && prom.exitCode === null) await once(prom, 'exit');
    d.proc.kill('SIGTERM');
    await once(d.proc, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
});
