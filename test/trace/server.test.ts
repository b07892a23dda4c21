import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceHub } from '../../daemon/trace/trace-hub';
import { startTraceServer, type TraceServer } from '../../daemon/trace/trace-server';
import { TokenFileError, loadOrCreateToken } from '../../daemon/trace/token';
import { CloseCode, TRACE_STREAM_VERSION, type GuestInfo } from '../../protocol';
import { syntheticStream } from '../fixtures/synthetic';
import { StreamClient } from './stream-client';
import WebSocket from 'ws';

const dir = mkdtempSync(join(tmpdir(), 'linsock-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const guests: GuestInfo[] = [
  { name: 'guest-a', transport: 'unix', connectedNs: 1, sockets: [{ handle: 1, kind: 'tcp', state: 'connected', local: '127.0.0.1:4000', remote: '127.0.0.1:5201', bytesIn: 0, bytesOut: 10 }] },
];

async function withServer(fn: (s: TraceServer, token: string, hub: TraceHub) => Promise<void>, extra: Partial<Parameters<typeof startTraceServer>[0]> = {}): Promise<void> {
  const hub = new TraceHub({ ringSize: 10_000, batchMs: 5 });
  const tokenFile = join(dir, `token-${Math.random().toString(36).slice(2)}`);
  const server = await startTraceServer({ port: 0, tokenFile, hub, guests: () => guests, status: () => ({}), ...extra });
  try {
    await fn(server, readFileSync(tokenFile, 'utf8').trim(), hub);
  } finally {
    await server.close();
    hub.close();
  }
}

test('the token file is made once with mode 0600 and reused', () => {
  const file = join(dir, 'sub', 'token');
  const a = loadOrCreateToken(file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(a.length >= 32);
  assert.equal(loadOrCreateToken(file), a);
});

test('a token file that others can read is refused with a clear message', () => {
  const file = join(dir, 'open-token');
  writeFileSync(file, 'x'.repeat(40));
  chmodSync(file, 0o644);
  assert.throws(() => loadOrCreateToken(file), (e: Error) => e instanceof TokenFileError && /readable by others.*chmod 600/.test(e.message));
});

test('the server listens on a free port and the url shows it', async () => {
  await withServer(async (s) => {
    assert.match(s.url, /^ws:\/\/127\.0\.0\.1:\d+\/trace$/);
    assert.notEqual(s.port, 0);
  });
});

test('a wrong token is refused with HTTP 401 before the upgrade; the right one is accepted', async () => {
  await withServer(async (s, token) => {
    await assert.rejects(StreamClient.open(s.url, { token: 'not-the-token' }), (e: { status?: number }) => e.status === 401);
    const c = await StreamClient.open(s.url, { token });
    c.send({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'test' });
    const r = await c.hello();
    assert.ok(r.type === 'hello' && r.protocol === TRACE_STREAM_VERSION && r.nextSeq === 0);
    c.close();
  });
});

test('without a header, the first message must be hello with the token', async () => {
  await withServer(async (s, token) => {
    const good = await StreamClient.open(s.url);
    good.send({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'browser', token });
    assert.equal((await good.hello()).type, 'hello');
    good.send({ op: 'status', id: 2 });
    assert.equal((await good.reply(2)).type, 'status');
    good.close();

    const wrong = await StreamClient.open(s.url);
    wrong.send({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'x', token: 'nope' });
    await wrong.until(() => wrong.closeCode !== null, 2000, 'close');
    assert.equal(wrong.closeCode, CloseCode.unauthorized);

    const other = await StreamClient.open(s.url);
    other.send({ op: 'status', id: 1 });
    await other.until(() => other.closeCode !== null, 2000, 'close');
    assert.equal(other.closeCode, CloseCode.unauthorized);
    assert.equal(other.messages.length, 0, 'nothing is answered before authentication');

    const silent = await StreamClient.open(s.url);
    await silent.until(() => silent.closeCode !== null, 2000, 'close after the auth timeout');
    assert.equal(silent.closeCode, CloseCode.unauthorized);
  }, { authTimeoutMs: 200 });
});

test('a browser Origin other than the allowed ones is refused with 403', async () => {
  await withServer(async (s, token) => {
    await assert.rejects(StreamClient.open(s.url, { token, origin: 'https://evil.example' }), (e: { status?: number }) => e.status === 403);
    const ok = await StreamClient.open(s.url, { token, origin: 'vscode-webview://abc' });
    ok.close();
  }, { allowedOrigins: ['vscode-webview://abc'] });
});

test('a non-loopback address needs --allow-remote and TLS', async () => {
  const hub = new TraceHub();
  const tokenFile = join(dir, 'remote-token');
  await assert.rejects(startTraceServer({ host: '0.0.0.0', port: 0, tokenFile, hub }), /--allow-remote/);
  await assert.rejects(startTraceServer({ host: '10.1.2.3', port: 0, tokenFile, hub, allowRemote: true }), /requires TLS.*--tls-cert/);
  hub.close();
});

test('with a certificate and key the server speaks TLS (wss://)', async () => {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  await withServer(async (s, token) => {
    assert.match(s.url, /^wss:\/\/127\.0\.0\.1:\d+\/trace$/);
    const ws = new WebSocket(s.url, { headers: { Authorization: `Bearer ${token}` }, ca: readFileSync(cert) });
    const c = new StreamClient(ws);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    c.send({ op: 'status', id: 1 });
    assert.equal((await c.reply(1)).type, 'status');
    c.close();
  }, { tlsCert: cert, tlsKey: key });
});

test('malformed requests get error replies and the connection stays', async () => {
  await withServer(async (s, token) => {
    const c = await StreamClient.open(s.url, { token });
    c.send('{not json');
    c.send({ op: 'subscribe', id: 5, filter: { path: 'teleport' }, history: false });
    c.send({ op: 'frobnicate', id: 6 });
    c.send({ op: 'snapshot', id: 7, limit: -1 });
    c.send({ op: 'run', id: 8, workload: 'stream', paths: ['delegated'], seconds: 1 });
    c.send({ op: 'unsubscribe', id: 9 });
    c.send({ op: 'status', id: 10 });
    await c.reply(10);
    const errors = c.messages.filter((m) => m.type === 'error');
    assert.equal(errors.length, 6);
    assert.equal(errors[0]?.type === 'error' && errors[0].id, null);
    const byId = (id: number): string => {
      const m = c.messages.find((x) => x.type === 'error' && x.id === id);
      return m && m.type === 'error' ? `${m.code}: ${m.message}` : '';
    };
    assert.match(byId(5), /bad-request: filter.path/);
    assert.match(byId(6), /unknown op/);
    assert.match(byId(7), /limit/);
    assert.match(byId(8), /^unavailable/);
    assert.match(byId(9), /no subscription/);
    c.close();
  });
});

test('limits: message size, clients, subscriptions per client', async () => {
  await withServer(async (s, token) => {
    const a = await StreamClient.open(s.url, { token });
    for (let id = 1; id <= 3; id++) a.send({ op: 'subscribe', id, filter: {}, history: false });
    const third = await a.reply(3);
    assert.ok(third.type === 'error' && third.code === 'busy', JSON.stringify(third));
    const b = await StreamClient.open(s.url, { token });
    await assert.rejects(StreamClient.open(s.url, { token }), (e: { status?: number }) => e.status === 503);
    b.send(JSON.stringify({ op: 'status', id: 1, pad: 'x'.repeat(2000) }));
    await b.until(() => b.closeCode !== null, 2000, 'close for an oversized message');
    assert.equal(b.closeCode, 1009);
    a.close();
  }, { maxClients: 2, maxSubscriptions: 2, maxPayload: 1024 });
});

test('subscribe, status, guests and snapshot over the socket', async () => {
  await withServer(async (s, token, hub) => {
    for (const r of syntheticStream(300, { seed: 2 })) hub.publish(r);
    const c = await StreamClient.open(s.url, { token });
    c.send({ op: 'subscribe', id: 1, filter: {}, history: true });
    const sub = await c.reply(1);
    assert.deepEqual(sub, { type: 'subscribed', id: 1, fromSeq: 0 });
    const n = hub.stats().nextSeq;
    await c.until(() => c.records.length >= n, 3000, 'history');
    for (const r of syntheticStream(100, { seed: 3 })) hub.publish(r);
    const n2 = hub.stats().nextSeq;
    await c.until(() => c.records.length >= n2, 3000, 'live records');
    assert.deepEqual(c.records.map((r) => (r as { seq: number }).seq), Array.from({ length: n2 }, (_, i) => i));
    c.send({ op: 'status', id: 2 });
    const st = await c.reply(2);
    assert.ok(st.type === 'status' && st.status.calls === 400 && st.status.rssBytes > 0 && st.status.guests === 1 && st.status.sockets === 1);
    c.send({ op: 'guests', id: 3 });
    const g = await c.reply(3);
    assert.ok(g.type === 'guests' && g.guests[0]?.name === 'guest-a');
    c.send({ op: 'unsubscribe', id: 1 });
    await c.until(() => c.messages.some((m) => m.type === 'unsubscribed'), 2000, 'unsubscribed');
    const snap = await StreamClient.open(s.url, { token });
    snap.send({ op: 'snapshot', id: 4, limit: 50 });
    const done = await snap.reply(4);
    assert.deepEqual(done, { type: 'snapshotDone', id: 4, records: 50 });
    assert.equal(snap.records.length, 50);
    c.close();
    snap.close();
  });
});

test('run hands the workload to the lab and reports its result; one at a time', async () => {
  let release: () => void = () => undefined;
  const report = { workload: 'rr' as const, mode: null, mtu: 65536, results: [], ratios: {} };
  await withServer(async (s, token) => {
    const c = await StreamClient.open(s.url, { token });
    c.send({ op: 'run', id: 1, workload: 'rr', paths: ['direct'], seconds: 1 });
    const started = await c.reply(1);
    assert.equal(started.type, 'runStarted');
    c.send({ op: 'run', id: 2, workload: 'rr', paths: ['direct'], seconds: 1 });
    const busy = await c.reply(2);
    assert.ok(busy.type === 'error' && busy.code === 'busy');
    release();
    await c.until(() => c.messages.some((m) => m.type === 'runFinished'), 2000, 'runFinished');
    const fin = c.messages.find((m) => m.type === 'runFinished');
    assert.ok(fin && fin.type === 'runFinished' && started.type === 'runStarted' && fin.runId === started.runId);
    assert.deepEqual(fin.report, report);
    c.close();
  }, { runWorkload: () => new Promise((r) => (release = () => r(report))) });
});

test('/metrics needs the token and then serves Prometheus text', async () => {
  await withServer(async (s, token, hub) => {
    for (const r of syntheticStream(10, { seed: 1 })) hub.publish(r);
    const base = s.url.replace('ws://', 'http://').replace('/trace', '/metrics');
    const anon = await fetch(base);
    assert.equal(anon.status, 401);
    const wrong = await fetch(base, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const ok = await fetch(base, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    const text = await ok.text();
    for (const name of ['linsock_calls_total', 'linsock_bytes_total', 'linsock_errors_total', 'linsock_dropped_total', 'linsock_guests', 'linsock_sockets'])
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
    assert.match(text, /^linsock_calls_total 10$/m);
    assert.match(text, /^linsock_guests 1$/m);
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+ \d+(\.\d+)?)$/);
  });
});
