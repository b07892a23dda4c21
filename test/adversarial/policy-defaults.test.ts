// Issue 13.5 and 13.7: spoofed sources and policy gaps. Inside a namespace of the test's own (loopback and a
// veth pair, 10.250.0.1/24 on one end), a guest can neither bind an address that is not the host's (the kernel's
// EADDRNOTAVAIL, through the same-host shortcut too) nor, by default, bind privileged ports or the host's
// loopback, send to multicast or broadcast, or reach the host's own addresses. Each denial names its rule
// and the rule that would allow it, and one rule opens it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, WireMessage } from '../../protocol';
import { RawGuest } from '../daemon/raw-guest';
import { startDaemonProcess, type DaemonProcess } from './daemon-process';

const errnoOf = (r: WireMessage): string => (r.type === 'error' ? r.errno : r.type);
const msgOf = (r: WireMessage): string => (r.type === 'error' ? r.message : '');

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

describe('policy defaults and bind checks', { timeout: 60_000 }, () => {
  const ns = `lsk-adv-pol-${randomBytes(3).toString('hex')}`;
  let d: DaemonProcess;
  let opened: DaemonProcess;
  before(async () => {
    ip(['netns', 'add', ns]);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['link', 'add', 'd0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'd1', 'netns', ns]);
    ip(['-n', ns, 'addr', 'add', '10.250.0.1/24', 'dev', 'd0']);
    ip(['-n', ns, 'link', 'set', 'd1', 'up']);
    ip(['-n', ns, 'link', 'set', 'd0', 'up']);
    ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'd0']);
    // The guests' loopback traffic in this namespace is what these tests allow; the rest keeps the defaults.
    d = await startDaemonProcess({ netns: ns, config: { policy: { rules: [{ action: 'allow', ops: ['connect'], cidr: '127.0.0.1', ports: '1024-65535' }] } } });
    opened = await startDaemonProcess({
      netns: ns,
      config: {
        policy: {
          rules: [
            { action: 'allow', ops: ['sendto'], cidr: '239.1.2.0/24' },
            { action: 'allow', ops: ['bind', 'listen'], cidr: '127.0.0.1', ports: 5353 },
            { action: 'allow', ops: ['connect'], cidr: '10.250.0.1', ports: 8080 },
          ],
        },
      },
    });
  });
  after(async () => {
    await d?.stop();
    await opened?.stop();
    spawnSync('ip', ['netns', 'delete', ns]);
  });

  it('a guest cannot bind an address that is not the host\'s, so another guest never sees a spoofed source', async () => {
    const a = await RawGuest.open(d.guestPath, 'victim');
    const b = await RawGuest.open(d.guestPath, 'spoofer');
    try {
      const lh = await a.socket4('tcp');
      const l = await a.request({ type: 'listen', handle: lh, backlog: 8 });
      const port = (l as { endpoint: Endpoint }).endpoint.port;
      const t = await b.socket4('tcp');
      assert.equal(errnoOf(await b.request({ type: 'bind', handle: t, local: { family: 4, address: '8.8.8.8', port: 53 } })), 'EADDRNOTAVAIL');
      assert.equal(errnoOf(await b.request({ type: 'bind', handle: t, local: { family: 4, address: '127.0.0.1', port: 22 } })), 'EACCES');
      const u = await b.socket4('udp');
      assert.equal(errnoOf(await b.request({ type: 'bind', handle: u, local: { family: 4, address: '8.8.8.8', port: 5353 } })), 'EADDRNOTAVAIL');
      const c = await b.request({ type: 'connect', handle: t, remote: { family: 4, address: '127.0.0.1', port } });
      assert.equal(c.type, 'address', JSON.stringify(c));
      const acc = (await a.waitFor((m) => m.type === 'accepted')) as Extract<WireMessage, { type: 'accepted' }>;
      assert.notEqual(acc.remote.port, 22);
      assert.notEqual(acc.remote.address, '8.8.8.8');
      assert.ok(acc.remote.port >= 1024, `source port ${acc.remote.port}`);
    } finally {
      a.close();
      b.close();
    }
  });

  it('denies by default: privileged binds (UDP and TCP), loopback listeners, multicast, broadcast, the host\'s own address', async () => {
    const g = await RawGuest.open(d.guestPath, 'prober');
    try {
      const u = await g.socket4('udp');
      const r53 = await g.request({ type: 'bind', handle: u, local: { family: 4, address: '0.0.0.0', port: 53 } });
      assert.equal(errnoOf(r53), 'EACCES');
      assert.match(msgOf(r53), /denied by policy \(default: privileged port\); allowed by \{"action":"allow","ops":\["bind"\],"cidr":"0\.0\.0\.0","ports":53\}/);
      assert.equal(errnoOf(await g.request({ type: 'bind', handle: u, local: { family: 4, address: '127.0.0.1', port: 99 } })), 'EACCES');
      const t = await g.socket4('tcp');
      assert.equal(errnoOf(await g.request({ type: 'bind', handle: t, local: { family: 4, address: '0.0.0.0', port: 666 } })), 'EACCES');
      const lt = await g.socket4('tcp');
      assert.equal(errnoOf(await g.request({ type: 'bind', handle: lt, local: { family: 4, address: '127.0.0.1', port: 8080 } })), 'EACCES');
      assert.equal(errnoOf(await g.request({ type: 'bind', handle: lt, local: { family: 4, address: '127.0.0.1', port: 0 } })), 'EACCES');
      const s = await g.socket4('udp');
      for (const address of ['239.1.2.3', '255.255.255.255', '10.250.0.255']) {
        const r = await g.request({ type: 'sendto', handle: s, noReply: false, remote: { family: 4, address, port: 5000 }, data: Buffer.from('x') });
        assert.equal(errnoOf(r), 'EACCES', address);
        assert.match(msgOf(r), /default: multicast and broadcast/);
      }
      const own = await g.connectTo({ family: 4, address: '10.250.0.1', port: 8080 });
      assert.equal(errnoOf(own.reply), 'EACCES');
      assert.match(msgOf(own.reply), /default: the host's own addresses/);
    } finally {
      g.close();
    }
    assert.equal(d.exitCode(), null);
  });

  it('one rule opens each: multicast to a group, a loopback listener on one port, one port of the host\'s address', async () => {
    const g = await RawGuest.open(opened.guestPath, 'allowed');
    try {
      const s = await g.socket4('udp');
      assert.equal(errnoOf(await g.request({ type: 'sendto', handle: s, noReply: false, remote: { family: 4, address: '239.1.2.3', port: 5000 }, data: Buffer.from('x') })), 'ok');
      const u = await g.socket4('udp');
      assert.equal(errnoOf(await g.request({ type: 'bind', handle: u, local: { family: 4, address: '127.0.0.1', port: 5353 } })), 'address');
      const c = await g.connectTo({ family: 4, address: '10.250.0.1', port: 8080 });
      assert.equal(errnoOf(c.reply), 'ECONNREFUSED'); // allowed: the kernel answers (nobody listens there)
    } finally {
      g.close();
    }
  });
});
