// Issue 13.1: addresses with a scope. A link-local peer (fe80::b%va) reaches a guest's [::] listener and
// answers a guest's datagram to ff02::1: the guest is told the peer as {fe80::b, scopeId}, can answer it
// by that endpoint, and the daemon stays up (it used to die on `cannot encode accepted.remote.address`).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import type { Endpoint, WireMessage } from '../../protocol';
import { RawGuest } from '../daemon/raw-guest';
import { startDaemonProcess, type DaemonProcess } from './daemon-process';
import { makeLinkLocalNet, type LinkLocalNet } from './link-local-net';

const LINK_LOCAL_RULES = {
  policy: { rules: [{ action: 'allow', ops: ['sendto', 'connect'], cidr: ['fe80::/10', 'ff02::/16'] }] },
};

function lines(p: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: p.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
}

async function nextLine(it: AsyncIterator<string>, ms = 5000): Promise<string> {
  const t = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('peer said nothing')), ms).unref());
  const r = await Promise.race([it.next(), t]);
  return r.value as string;
}

describe('scoped (link-local) addresses', { timeout: 60_000 }, () => {
  let net: LinkLocalNet;
  let d: DaemonProcess;
  before(async () => {
    net = makeLinkLocalNet();
    d = await startDaemonProcess({ netns: net.daemonNs, config: LINK_LOCAL_RULES });
  });
  after(async () => {
    await d?.stop();
    net?.teardown();
  });

  it('a link-local peer connecting to a guest listener arrives as fe80::b with its scope id, and the daemon lives', async () => {
    const g = await RawGuest.open(d.guestPath, 'scoped-tcp');
    try {
      const lh = await g.socket4('tcp', 6);
      const bound = await g.request({ type: 'listen', handle: lh, backlog: 8 });
      assert.equal(bound.type, 'address');
      const port = (bound as { endpoint: Endpoint }).endpoint.port;
      const peer = net.peer(`
        const s = require('net').connect({ host: 'fe80::a%vb', port: ${port} }, () => console.log('connected ' + s.localAddress));
        s.on('data', (d) => { console.log('got ' + d); s.end(); });
        s.on('error', (e) => console.log('error ' + e.code));`);
      const out = lines(peer);
      assert.match(await nextLine(out), /^connected fe80::b/);
      const acc = (await g.waitFor((m) => m.type === 'accepted', 5000, 'accepted')) as Extract<WireMessage, { type: 'accepted' }>;
      assert.deepEqual(acc.remote.address, 'fe80::b');
      assert.equal(acc.remote.scopeId, net.daemonIfIndex);
      assert.equal(acc.local.scopeId, net.daemonIfIndex);
      const sent = await g.request({ type: 'send', handle: acc.newHandle, noReply: false, data: Buffer.from('hi') });
      assert.equal(sent.type, 'ok');
      assert.equal(await nextLine(out), 'got hi');
      const peerName = await g.request({ type: 'getpeername', handle: acc.newHandle });
      assert.deepEqual(peerName.type === 'address' && { a: peerName.endpoint.address, s: peerName.endpoint.scopeId }, { a: 'fe80::b', s: net.daemonIfIndex });
      peer.kill();
    } finally {
      g.close();
    }
    assert.equal(d.exitCode(), null, `daemon exited: ${JSON.stringify(d.log.slice(-3))}`);
  });

  it('a reply to a datagram sent to ff02::1 comes from a scoped sender the guest can answer by its endpoint', async () => {
    const port = 41000 + Math.floor(Math.random() * 1000);
    const peer = net.peer(`
      const s = require('dgram').createSocket('udp6');
      s.on('message', (m, r) => { console.log('got ' + m + ' from ' + r.address); if (String(m) === 'ping') s.send('pong', r.port, r.address); });
      s.bind(${port}, '::', () => console.log('ready'));`);
    const out = lines(peer);
    assert.equal(await nextLine(out), 'ready');
    const g = await RawGuest.open(d.guestPath, 'scoped-udp');
    try {
      const h = await g.socket4('udp', 6);
      assert.equal((await g.request({ type: 'bind', handle: h, local: { family: 6, address: '::', port } })).type, 'address');
      const r = await g.request({ type: 'sendto', handle: h, noReply: false, remote: { family: 6, address: 'ff02::1', port }, data: Buffer.from('ping') });
      assert.equal(r.type, 'ok', JSON.stringify(r));
      assert.match(await nextLine(out), /^got ping from fe80::a%vb$/);
      const pong = (await g.waitFor((m) => m.type === 'datagram' && Buffer.from(m.data).toString() === 'pong', 5000, 'pong')) as Extract<WireMessage, { type: 'datagram' }>;
      assert.deepEqual({ ...pong.remote }, { family: 6, address: 'fe80::b', port, scopeId: net.daemonIfIndex });
      // Back to the scoped sender by the endpoint the guest was given.
      const back = await g.request({ type: 'sendto', handle: h, noReply: false, remote: pong.remote, data: Buffer.from('again') });
      assert.equal(back.type, 'ok', JSON.stringify(back));
      assert.match(await nextLine(out), /^got again from fe80::a%vb$/);
      // A scope id that names no interface fails that call only.
      const bad = await g.request({ type: 'sendto', handle: h, noReply: false, remote: { ...pong.remote, scopeId: 0xfffffff0 }, data: Buffer.from('x') });
      assert.deepEqual(bad.type === 'error' && bad.errno, 'EADDRNOTAVAIL');
    } finally {
      g.close();
      peer.kill();
      await once(peer, 'exit');
    }
    assert.equal(d.exitCode(), null, `daemon exited: ${JSON.stringify(d.log.slice(-3))}`);
  });
});
