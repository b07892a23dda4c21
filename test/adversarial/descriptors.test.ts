// Issue 13.2: descriptor exhaustion. Under a 600-descriptor limit, one guest opening UDP sockets until it
// is refused, or 1,100 idle connections to the trace port, must leave /metrics, the trace server and the
// guest listener working: the guest gets EMFILE first, the daemon never exits.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { RawGuest } from '../daemon/raw-guest';
import { startDaemonProcess, type DaemonProcess } from './daemon-process';
import { getMetrics, traceClient } from './http';

const LIMIT = 600;
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe('descriptor exhaustion', { timeout: 90_000 }, () => {
  const daemons: DaemonProcess[] = [];
  after(async () => {
    for (const d of daemons) await d.stop();
  });

  // The budget is per process: with one process (--workers 1) a second guest meets the hog's exhaustion
  // (ENFILE); with workers, the hog exhausts only its own worker and the second guest, handed to the
  // other worker, gets in at once (below).
  it('one guest opening UDP sockets gets EMFILE before the process runs out; /metrics and new guests still work', async () => {
    const d = await startDaemonProcess({ fdLimit: LIMIT, args: ['--max-sockets', '1024', '--workers', '1'] });
    daemons.push(d);
    const token = readFileSync(d.tokenFile, 'utf8').trim();
    const g = await RawGuest.open(d.guestPath, 'hog');
    let refused: { errno: string; message: string } | null = null;
    let opened = 0;
    for (let i = 0; i < 1024 && !refused; i++) {
      const r = await g.request({ type: 'socket', handle: 0, family: 4, kind: 'udp' });
      if (r.type === 'error') {
        refused = r;
        break;
      }
      const handle = (r as { value: number }).value;
      const b = await g.request({ type: 'bind', handle, local: { family: 4, address: '0.0.0.0', port: 0 } });
      if (b.type === 'error') refused = b;
      else opened++;
    }
    assert.ok(refused, 'the guest was never refused');
    assert.equal(refused.errno, 'EMFILE', refused.message);
    assert.ok(opened > 300 && opened < LIMIT, `opened ${opened}`);
    assert.ok(fdCount(d.child.pid as number) < LIMIT - 64, 'the reserve is kept');
    const m = await getMetrics(d.tracePort, token);
    assert.equal(m.status, 200);
    assert.match(m.body, /linsock_sockets \d+/);
    const t = await traceClient(d.tracePort, token);
    t.ws.terminate();
    // The listener still accepts: a second guest is answered (ENFILE, not cut off), and gets in once the
    // first one let go of its sockets.
    await assert.rejects(RawGuest.open(d.guestPath, 'second'), (e: { reply?: { errno?: string } }) => e.reply?.errno === 'ENFILE');
    g.close();
    await new Promise((r) => setTimeout(r, 300));
    (await RawGuest.open(d.guestPath, 'second')).close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(d.exitCode(), null, JSON.stringify(d.log.filter((l) => l.level === 'error').slice(-3)));
  });

  it('with --workers 2, a guest that exhausts its worker\'s descriptors leaves the other worker\'s guests unharmed', async () => {
    const d = await startDaemonProcess({ fdLimit: LIMIT, args: ['--max-sockets', '1024', '--workers', '2'] });
    daemons.push(d);
    const g = await RawGuest.open(d.guestPath, 'hog');
    let refused: { errno: string } | null = null;
    for (let i = 0; i < 1024 && !refused; i++) {
      const r = await g.request({ type: 'socket', handle: 0, family: 4, kind: 'udp' });
      if (r.type === 'error') refused = r;
    }
    assert.equal(refused?.errno, 'EMFILE', 'the hog is refused by its own worker\'s budget');
    const other = await RawGuest.open(d.guestPath, 'neighbour');
    const s = await other.request({ type: 'socket', handle: 0, family: 4, kind: 'udp' });
    assert.equal(s.type, 'ok', 'the other worker still has descriptors for its guest');
    other.close();
    g.close();
    assert.equal(d.exitCode(), null);
  });

  it('1,100 idle connections to the trace port leave /metrics and a trace client working', async () => {
    const d = await startDaemonProcess({ fdLimit: LIMIT });
    daemons.push(d);
    const token = readFileSync(d.tokenFile, 'utf8').trim();
    const idle: Socket[] = [];
    for (let i = 0; i < 1100; i++) {
      const s = connect(d.tracePort, '127.0.0.1');
      s.on('error', () => undefined);
      idle.push(s);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    try {
      const m = await getMetrics(d.tracePort, token);
      assert.equal(m.status, 200);
      assert.ok(m.ms < 1000, `/metrics took ${m.ms} ms`);
      const t = await traceClient(d.tracePort, token);
      assert.ok(t.ms < 1000, `trace client took ${t.ms} ms`);
      t.ws.terminate();
      (await RawGuest.open(d.guestPath, 'still-served')).close();
    } finally {
      for (const s of idle) s.destroy();
    }
    assert.equal(d.exitCode(), null, JSON.stringify(d.log.filter((l) => l.level === 'error').slice(-3)));
  });
});
