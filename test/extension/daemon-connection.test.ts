// The extension's connection against a real linsockd (dist/linsockd.js) and real guest traffic: records
// arrive, a dropped connection and a restarted daemon lose nothing and repeat nothing, a wrong token or
// URL says so. No VS Code here: DaemonConnection is the part of the extension that needs none.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import type { TraceRecord } from '../../protocol';
import { Backoff } from '../../extension/backoff';
import { DaemonConnection, type StateChange } from '../../extension/daemon-connection';
import { LSTRACE } from '../../extension/record-codec';
import { startLinsockd, type Linsockd } from '../vscode/linsockd-process';
import { delegatedEcho } from '../vscode/guest-traffic';

const root = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'linsock-conn-'));
let daemon: Linsockd | null = null;
test.after(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function client(url: () => string, token: () => Promise<string | undefined>) {
  const records: TraceRecord[] = [];
  const states: StateChange[] = [];
  const conn = new DaemonConnection({
    url,
    token,
    codec: LSTRACE,
    client: 'linsock-test',
    log: () => undefined,
    // Short waits keep the test fast; the production delays are tested in backoff.test.ts.
    backoff: new Backoff({ firstMs: 50, maxMs: 400, factor: 2, jitter: 0.5 }),
  });
  conn.onRecords((r) => records.push(...r.records));
  conn.onState((s) => states.push(s));
  return { conn, records, states };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The seqs of call and frame records: the daemon numbers them 0, 1, 2, ... (status.nextSeq is the next). */
const callSeqs = (rs: TraceRecord[]) => rs.filter((r) => r.kind === 'call' || r.kind === 'frame').map((r) => (r as { seq: number }).seq);

test('records stream in; after a drop and after a daemon restart nothing is lost or repeated', async () => {
  daemon = await startLinsockd({ root, dir });
  const d0 = daemon;
  const { conn, records, states } = client(() => d0.url, async () => readFileSync(d0.tokenFile, 'utf8').trim());
  conn.connect();
  await until('connected', () => conn.state === 'connected');
  await conn.startRecording();

  await delegatedEcho(daemon.guestSocket, 10);
  // Asks the daemon each time: records whose stamps the guest batches may still be on their way.
  let status = await conn.status();
  const caughtUp = (base: number) => async () => callSeqs(records).length === base + (status = await conn.status()).nextSeq;
  await until('all calls of the first echo', caughtUp(0));
  // At least socket, connect and a send: how many more depends on how the guest batches its stamps.
  assert.ok(status.calls >= 3, `daemon counted ${status.calls} calls`);

  // A network drop: the socket dies under the client. It must come back and resume after its last seq.
  (conn as unknown as { socket: WebSocket }).socket.terminate();
  await until('reconnecting', () => conn.state === 'reconnecting');
  await until('connected again', () => conn.state === 'connected');
  await delegatedEcho(daemon.guestSocket, 10);
  await until('all calls after the drop', caughtUp(0));
  // Every seq from 0 to the daemon's last, once each, in order: nothing lost, nothing repeated.
  assert.deepEqual(callSeqs(records), Array.from({ length: status.nextSeq }, (_, i) => i));
  assert.ok(states.some((s) => s.state === 'reconnecting' && s.failure?.kind === 'dropped' && s.retrying === true));

  // The daemon restarts on the same port and numbers its records from 0 again.
  const before = callSeqs(records).length;
  await daemon.stop();
  await until('reconnecting after the daemon stopped', () => conn.state === 'reconnecting');
  daemon = await startLinsockd({ root, dir, port: d0.port });
  await until('connected to the new daemon', () => conn.state === 'connected', 15_000);
  assert.equal(conn.daemon?.restarted, true);
  await delegatedEcho(daemon.guestSocket, 5);
  await until('the new daemon\'s calls', caughtUp(before));
  assert.deepEqual(callSeqs(records).slice(before), Array.from({ length: status.nextSeq }, (_, i) => i));
  conn.dispose();
});

test('a refused token, a wrong path and a closed port each fail with their own reason and stop', async () => {
  daemon ??= await startLinsockd({ root, dir });
  const d = daemon;
  const bad = join(dir, 'wrong-token');
  writeFileSync(bad, 'x'.repeat(43));
  const cases: [string, () => string, () => Promise<string | undefined>, string][] = [
    ['wrong token', () => d.url, async () => readFileSync(bad, 'utf8'), 'unauthorized'],
    ['no token', () => d.url, async () => undefined, 'unauthorized'],
    ['wrong path', () => d.url.replace('/trace', '/nope'), async () => readFileSync(d.tokenFile, 'utf8').trim(), 'bad-url'],
    ['not a ws URL', () => 'http://127.0.0.1:1/trace', async () => 'x', 'bad-url'],
    ['closed port', () => 'ws://127.0.0.1:1/trace', async () => 'x', 'unreachable'],
  ];
  for (const [name, url, token, kind] of cases) {
    const { conn, states } = client(url, token);
    conn.connect();
    await until(`${name}: settled`, () => states.some((s) => s.state === 'disconnected'));
    const failure = states.find((s) => s.failure)?.failure;
    assert.equal(failure?.kind, kind, `${name}: ${JSON.stringify(failure)}`);
    assert.equal(conn.state, 'disconnected', `${name}: no reconnecting`);
    conn.dispose();
  }
});
