// The emulated path's frames of a real recording, exported by `linsock export --format pcapng` from the run's
// .lstrace and read by Debian's tshark: one packet per frame record in order, at its exact ns, on the
// interface of its TAP and direction, with the frame's length on the wire, its 5-tuple and payload length;
// every TCP flow one stream that tshark decodes without a malformed packet; each packet's comment naming
// the call it served. Needs root (the recording) and tshark.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTraceFiles } from '../../lab/start/trace-files';
import { callName } from '../../protocol/pcapng';
import type { CallRecord, FrameRecord, TraceRecord } from '../../protocol';
import { realRecording } from './real-recording';

const root = join(__dirname, '..', '..');
let dir: string;
let records: TraceRecord[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'linsock-pcapng-'));
  records = await realRecording('stream', 0.3);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw new Error(`tshark could not run (${r.error.message}): apt-get install -y tshark (npm install installs it)`);
  assert.equal(r.status, 0, `tshark ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const FIELDS = ['frame.interface_name', 'frame.time_epoch', 'frame.len', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.stream', 'udp.srcport', 'udp.dstport', 'udp.length', 'frame.comment', '_ws.malformed', '_ws.expert.severity'];

/** "1234.000000567" (s) -> ns, exactly. */
function epochNs(text: string): number {
  const [s, frac = ''] = text.split('.');
  return Number(s) * 1e9 + Number(frac.padEnd(9, '0').slice(0, 9));
}

test('linsock export --format pcapng: tshark reads one packet per frame, with its interface, time, lengths, 5-tuple and the call it served', () => {
  const files = writeTraceFiles(dir, 'run', records, { recordsPerPath: Infinity });
  const out = join(dir, 'run.pcapng');
  const cli = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lab/cli.ts'), 'export', files.lstrace, '--format', 'pcapng', '-o', out], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const frames = records.filter((r): r is FrameRecord => r.kind === 'frame');
  const calls = records.filter((r): r is CallRecord => r.kind === 'call');
  assert.ok(frames.length > 1000 && frames.some((f) => f.flow?.protocol === 'tcp' && f.payload > 0), 'the recording has TCP data frames');
  const servedBy = new Map<number, string[]>();
  for (const c of calls) for (const seq of c.frames ?? []) servedBy.set(seq, [...(servedBy.get(seq) ?? []), callName(c)]);
  assert.ok(servedBy.size > frames.length / 2, 'most frames are linked to calls');

  const rows = tshark(['-r', out, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f', ...FIELDS.flatMap((f) => ['-e', f])]).split('\n').filter((l) => l.length > 0);
  assert.equal(rows.length, frames.length, 'one packet per frame record');
  const streams = new Map<string, string>();
  const ifaces = new Set<string>();
  rows.forEach((row, i) => {
    const v = Object.fromEntries(row.split('\t').map((x, k) => [FIELDS[k] as string, x]));
    const f = frames[i] as FrameRecord;
    const at = `packet ${i + 1} (frame seq ${f.seq})`;
    assert.equal(v['frame.interface_name'], `${f.guest} ${f.direction}`, at);
    ifaces.add(v['frame.interface_name'] as string);
    assert.equal(epochNs(v['frame.time_epoch'] as string), f.tIn, `${at}: time`);
    assert.equal(Number(v['frame.len']), f.length, `${at}: length on the wire`);
    assert.equal(v['_ws.malformed'], '', `${at}: malformed`);
    const calls = servedBy.get(f.seq);
    assert.ok((v['frame.comment'] as string).startsWith(calls ? `served call ${calls.join('; ')}` : 'served no recorded call'), `${at}: comment ${v['frame.comment']}`);
    if (!f.flow) return;
    const fl = f.flow;
    assert.equal(v['ip.src'] || v['ipv6.src'], fl.src, at);
    assert.equal(v['ip.dst'] || v['ipv6.dst'], fl.dst, at);
    if (fl.protocol === 'tcp') {
      assert.deepEqual([v['tcp.srcport'], v['tcp.dstport'], v['tcp.len']].map(Number), [fl.srcPort, fl.dstPort, f.payload], `${at}: TCP ports and payload`);
      // One stream per connection, whichever way the packet goes.
      const conn = [`${fl.src} ${fl.srcPort}`, `${fl.dst} ${fl.dstPort}`].sort().join(' | ');
      const stream = v['tcp.stream'] as string;
      assert.notEqual(stream, '', `${at}: no TCP stream`);
      assert.equal(streams.get(conn) ?? stream, stream, `${at}: ${conn} split over streams`);
      streams.set(conn, stream);
    } else {
      assert.deepEqual([v['udp.srcport'], v['udp.dstport'], v['udp.length']].map(Number), [fl.srcPort, fl.dstPort, 8 + f.payload], `${at}: UDP`);
    }
  });
  assert.ok(streams.size >= 1);
  assert.equal(new Set(streams.values()).size, streams.size, 'each connection its own stream');
  assert.ok(ifaces.size >= 2, `one interface per TAP and direction: ${[...ifaces].join(', ')}`);
  // tshark's own TCP conversation table agrees: as many conversations as connections.
  const conv = tshark(['-r', out, '-q', '-z', 'conv,tcp']).split('\n').filter((l) => /<->/.test(l));
  assert.equal(conv.length, streams.size);
});
