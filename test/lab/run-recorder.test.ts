// What `linsock start` does around a comparison: delegated calls get the comparison's run id (the daemon
// stamps its own), and the daemon's policy opens exactly the bench server's ports on loopback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Policy } from '../../daemon';
import type { CallRecord, TraceRecord } from '../../protocol';
import { RunRecorder } from '../../lab/start/run-recorder';
import { serverRules } from '../../lab/start/comparison';

const call = (run: string, guest: string): CallRecord => ({
  kind: 'call', seq: 0, run, guest, path: 'delegated', socket: 1, op: 'send', bytes: 1, result: 'ok', stages: [{ name: 'execute', start: 1, end: 2 }],
});

test('delegated calls of a comparison\'s guests carry its run id; other guests keep the daemon\'s', () => {
  const seen: TraceRecord[] = [];
  const rec = new RunRecorder({ enabled: true, publish: (r) => seen.push(r) }, 10, 'daemon-run');
  const run = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
  rec.publish(call('daemon-run', `${run}-delegated`));
  rec.addRun(run);
  rec.start();
  for (const guest of [`${run}-delegated`, `${run}-gb`, 'my-own-guest', `${run}-delegated`, 'x']) rec.publish(call('daemon-run', guest));
  // A record of another daemon run (a private daemon's) is left alone.
  rec.publish(call('other', `${run}-ka`));
  assert.deepEqual(seen.map((r) => (r as CallRecord).run), ['daemon-run', run, run, 'daemon-run', run, 'daemon-run', 'other']);
  assert.equal(rec.stop().records.length, 6);
});

test('a comparison opens exactly the bench server\'s ports on its loopback address', () => {
  const policy = Policy.fromConfig({});
  const at = (port: number, op: 'connect' | 'sendto' = 'connect'): boolean => policy.check(op, { address: '127.0.0.1', port, family: 4 }).allowed;
  const removers = serverRules({ host: '127.0.0.1', sink: 40001, echo: 40002, udpEcho: 40003 }).map((r) => policy.addRule(r));
  assert.ok(at(40001) && at(40002) && at(40003, 'sendto'));
  assert.ok(!at(40000) && !at(40003) && !at(40001, 'sendto') && !at(22));
  assert.ok(!policy.check('connect', { address: '127.0.0.2', port: 40001, family: 4 }).allowed);
  for (const r of removers) r();
  assert.ok(!at(40001) && !at(40003, 'sendto'));
});
