// Policy: first matching config rule wins, then the defaults (host-local targets, the host's own addresses,
// multicast/broadcast, privileged local ports, listeners on the host's loopback), each opened by one rule.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { Policy } from './policy';
import { parseAddress, parseRange, inRange } from './address-range';

const ep = (address: string, port: number) => ({ family: (address.includes(':') ? 6 : 4) as 4 | 6, address, port });
const ownNonLoopback = Object.values(networkInterfaces()).flatMap((l) => l ?? []).find((a) => !a.internal && a.family === 'IPv4');

describe('policy', () => {
  it('denies host loopback, unspecified and link-local targets by default, in every spelling', () => {
    const p = Policy.fromConfig();
    for (const a of ['127.0.0.1', '127.1.2.3', '0.0.0.0', '169.254.1.1', '::1', '::', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:127.0.0.1']) {
      assert.equal(p.check('connect', ep(a, 80)).allowed, false, `connect ${a}`);
      assert.equal(p.check('sendto', ep(a, 53)).allowed, false, `sendto ${a}`);
    }
    assert.equal(p.check('connect', ep('10.1.2.3', 80)).allowed, true);
    assert.equal(p.check('connect', ep('2001:db8::1', 443)).allowed, true);
  });

  it("denies multicast, broadcast and the host's own addresses as targets; each opens with one rule", () => {
    const p = Policy.fromConfig();
    for (const a of ['239.1.2.3', '224.0.0.1', '255.255.255.255', 'ff02::1', 'ff05::2']) {
      assert.deepEqual(p.check('sendto', ep(a, 5000)), { allowed: false, by: 'default: multicast and broadcast' }, a);
    }
    if (ownNonLoopback) assert.deepEqual(p.check('connect', ep(ownNonLoopback.address, 8080)), { allowed: false, by: "default: the host's own addresses" });
    const open = Policy.fromConfig({ rules: [{ action: 'allow', ops: ['sendto'], cidr: '239.1.2.0/24', ports: 5000 }] });
    assert.deepEqual(open.check('sendto', ep('239.1.2.3', 5000)), { allowed: true, by: 'rule 1' });
    assert.equal(open.check('sendto', ep('239.1.2.3', 5001)).allowed, false);
  });

  it('denies listening and binding below 1024 and on the host loopback by default, allows the wildcard and high ports', () => {
    const p = Policy.fromConfig();
    assert.equal(p.check('listen', ep('0.0.0.0', 80)).allowed, false);
    assert.equal(p.check('bind', ep('0.0.0.0', 53)).allowed, false);
    assert.equal(p.check('bind', ep('10.0.0.5', 666)).allowed, false);
    assert.equal(p.check('listen', ep('::', 1023)).allowed, false);
    assert.equal(p.check('listen', ep('0.0.0.0', 0)).allowed, true);
    assert.equal(p.check('bind', ep('::', 40000)).allowed, true);
    assert.deepEqual(p.check('listen', ep('127.0.0.1', 8080)), { allowed: false, by: "default: a listener on the host's loopback" });
    assert.equal(p.check('bind', ep('127.0.0.1', 99)).allowed, false);
    const open = Policy.fromConfig({ rules: [{ action: 'allow', ops: ['listen', 'bind'], cidr: '127.0.0.1', ports: 8080 }] });
    assert.equal(open.check('listen', ep('127.0.0.1', 8080)).allowed, true);
    assert.equal(open.check('listen', ep('127.0.0.1', 8081)).allowed, false);
  });

  it('knows which addresses can be bound: wildcards, 127.x and the host\'s own', () => {
    const p = Policy.fromConfig();
    for (const a of ['0.0.0.0', '::', '127.0.0.1', '127.9.9.9', '::1']) assert.equal(p.canBind(a), true, a);
    for (const a of ['8.8.8.8', '192.0.2.1', '2001:db8::1']) assert.equal(p.canBind(a), false, a);
    if (ownNonLoopback) assert.equal(p.canBind(ownNonLoopback.address), true);
  });

  it('evaluates config rules first, first match wins, by op, CIDR and port range', () => {
    const p = Policy.fromConfig({
      rules: [
        { action: 'deny', ops: ['connect'], cidr: '127.0.0.1', ports: 6000 },
        { action: 'allow', cidr: ['127.0.0.1/32', '::1'], ports: '5000-6000' },
        { action: 'deny', cidr: '10.0.0.0/8' },
        { action: 'allow', ops: ['listen'], ports: [80, 80] },
      ],
    });
    assert.deepEqual(p.check('connect', ep('127.0.0.1', 6000)), { allowed: false, by: 'rule 1' });
    assert.deepEqual(p.check('sendto', ep('127.0.0.1', 6000)), { allowed: true, by: 'rule 2' });
    assert.deepEqual(p.check('connect', ep('::ffff:127.0.0.1', 5001)), { allowed: true, by: 'rule 2' });
    assert.deepEqual(p.check('connect', ep('::1', 5500)), { allowed: true, by: 'rule 2' });
    assert.equal(p.check('connect', ep('127.0.0.1', 7000)).allowed, false); // outside the range: defaults
    assert.deepEqual(p.check('connect', ep('10.200.0.1', 443)), { allowed: false, by: 'rule 3' });
    assert.deepEqual(p.check('listen', ep('0.0.0.0', 80)), { allowed: true, by: 'rule 4' });
  });

  it('rejects bad rules with a message that names the rule', () => {
    assert.throws(() => Policy.fromConfig({ rules: [{ action: 'maybe' as 'allow' }] }), /policy rule 1: action must be "allow" or "deny"/);
    assert.throws(() => Policy.fromConfig({ rules: [{ action: 'allow', cidr: '10.0.0.0/33' }] }), /policy rule 1: '10.0.0.0\/33' has a prefix length/);
    assert.throws(() => Policy.fromConfig({ rules: [{ action: 'allow', cidr: 'example.com' }] }), /not an IP address or CIDR range/);
    assert.throws(() => Policy.fromConfig({ rules: [{ action: 'allow' }, { action: 'deny', ports: '9-1' }] }), /policy rule 2: ports "9-1"/);
  });

  it('describes the rules in force, defaults last', () => {
    const lines = Policy.fromConfig({ rules: [{ action: 'allow', ops: ['connect'], cidr: '127.0.0.1', ports: 8080 }] }).describe();
    assert.equal(lines[0], 'rule 1: allow connect to 127.0.0.1, port 8080');
    assert.ok(lines.some((l) => l.startsWith('default: multicast and broadcast: deny connect,sendto to 224.0.0.0/4, ff00::/8, 255.255.255.255/32')));
    assert.equal(lines.at(-1), 'default: allow everything else');
  });

  it('matches addresses against ranges, folding IPv4-mapped IPv6', () => {
    assert.ok(inRange(parseAddress('::ffff:10.1.2.3')!, parseRange('10.0.0.0/8')));
    assert.ok(inRange(parseAddress('10.1.2.3')!, parseRange('::ffff:10.0.0.0/104')));
    assert.ok(inRange(parseAddress('fe80::abcd:1')!, parseRange('fe80::/10')));
    assert.ok(!inRange(parseAddress('fec0::1')!, parseRange('fe80::/10')));
    assert.equal(parseAddress('not-an-ip'), null);
  });
});
