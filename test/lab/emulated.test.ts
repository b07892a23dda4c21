// The emulated path end to end, as root: guest kernel -> TAP -> device model -> TAP -> host kernel, in
// both NIC modes. Every byte of a stream is checked (sha256), frame records add up to the bytes sent,
// two guests talk across the switch, and garbage transmitted by a guest's NIC is counted and dropped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { LabRun, rootlessArgv } from '../../lab/netns';
import { startEmulatedPath, type EmulatedPath } from '../../lab/emulated/emulated-path';
import { emulatedPathSupport } from '../../lab/emulated';
import type { FrameSink } from '../../lab/device-model/device-model';
import { invalidRecord, type FrameRecord, type TraceRecord } from '../../protocol';

const PROBES = join(__dirname, '..', '..', 'lab', 'emulated', 'probes');
const STREAM_BYTES = 6 * 1024 * 1024;

let labRun: LabRun;
before(async () => {
  labRun = await LabRun.create({ handleSignals: false });
});
after(async () => {
  await labRun.teardown();
});

class CollectingSink implements FrameSink {
  readonly enabled = true;
  readonly frames: FrameRecord[] = [];
  publish(r: TraceRecord): void {
    if (r.kind === 'frame') this.frames.push(r);
  }
}

/** A sink server on `host`: resolves with the bytes and sha256 of the first connection's data. */
async function sinkServer(host: string): Promise<{ server: Server; port: number; received: Promise<{ bytes: number; digest: string }> }> {
  let resolve!: (v: { bytes: number; digest: string }) => void;
  const received = new Promise<{ bytes: number; digest: string }>((r) => (resolve = r));
  const server = createServer((s) => {
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      h.update(d);
      bytes += d.length;
    });
    s.on('end', () => {
      resolve({ bytes, digest: h.digest('hex') });
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return { server, port: addr.port, received };
}

async function stdoutOf(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, `${child.spawnargs.join(' ')} failed`);
  return out;
}

async function streamAcross(path: EmulatedPath, fromGuest = path.guest): Promise<{ sent: number; port: number }> {
  const { server, port, received } = await sinkServer(path.hostAddress);
  try {
    const sender = labRun.spawn(fromGuest, process.execPath, [join(PROBES, 'stream-send.mjs'), path.hostAddress, String(port), String(STREAM_BYTES), 'sha256'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sent = JSON.parse(await stdoutOf(sender)) as { bytes: number; digest: string };
    const got = await received;
    assert.equal(got.bytes, STREAM_BYTES);
    assert.equal(got.digest, sent.digest, 'every byte arrived intact');
    return { sent: sent.bytes, port };
  } finally {
    server.close();
  }
}

function assertFramesAddUp(frames: FrameRecord[], port: number, sent: number, maxLength: number): void {
  for (const f of frames) assert.equal(invalidRecord(f), null);
  const data = frames.filter((f) => f.direction === 'guest-to-host' && f.flow?.protocol === 'tcp' && f.flow.dstPort === port);
  const acks = frames.filter((f) => f.direction === 'host-to-guest' && f.flow?.srcPort === port);
  const payload = data.reduce((n, f) => n + f.payload, 0);
  // Retransmissions may add a little; nothing may be missing.
  assert.ok(payload >= sent && payload <= sent * 1.02, `payload ${payload} of the flow's frames vs ${sent} bytes sent`);
  assert.ok(acks.length > 0, 'ACKs came back through the device model');
  assert.ok(data.every((f) => f.length <= maxLength && f.length >= f.payload + 54));
}

for (const mode of ['e1000', 'virtio'] as const) {
  test(`${mode}: a ${STREAM_BYTES >> 20} MB stream crosses the emulated path intact and its frame records add up`, async () => {
    const sink = new CollectingSink();
    const path = await startEmulatedPath(labRun, { mode, sink, role: mode });
    try {
      assert.match(path.hostAddress, /^10\.199\.\d+\.1$/);
      assert.equal(path.profile.mtu, 1500);
      const { sent, port } = await streamAcross(path);
      const big = Math.max(...sink.frames.map((f) => f.length));
      if (mode === 'e1000') {
        assertFramesAddUp(sink.frames, port, sent, 1514);
        assert.deepEqual(path.profile.offloads, []);
      } else {
        assertFramesAddUp(sink.frames, port, sent, 65535 + 14);
        assert.ok(big > 1514, `TSO segments larger than the MTU cross the relay (largest ${big})`);
      }
      assert.equal(path.relay.counters.garbage, 0);
      assert.equal(path.relay.counters.queueDrops, 0);
      assert.ok(sink.frames.every((f) => f.guest === mode && f.run === labRun.name));
      assert.ok(!sink.frames.some((f) => f.flow && !f.flow.src.startsWith('10.199.')), 'only lab addresses cross the relay');
    } finally {
      await path.close();
    }
  });
}

test('inter-guest: guest B serves, guest A sends, frames cross the switch guest to guest', async () => {
  const sink = new CollectingSink();
  const path = await startEmulatedPath(labRun, { mode: 'virtio', sink, role: 'ga' });
  try {
    const b = await path.addGuest('gb');
    const server = labRun.spawn(b.guest, process.execPath, [join(PROBES, 'probe-server.mjs'), 'sink', b.address, '5301', 'sha256'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const until = async (re: RegExp): Promise<string> => {
      for (let i = 0; i < 500 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 20));
      const m = re.exec(out);
      assert.ok(m, `server said ${out}`);
      return m[0];
    };
    await until(/listening/);
    const sender = labRun.spawn(path.guest, process.execPath, [join(PROBES, 'stream-send.mjs'), b.address, '5301', String(STREAM_BYTES), 'sha256'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sent = JSON.parse(await stdoutOf(sender)) as { bytes: number; digest: string };
    const got = JSON.parse(await until(/\{.*\}/)) as { bytes: number; digest: string };
    assert.deepEqual(got, { bytes: STREAM_BYTES, digest: sent.digest });
    const g2g = sink.frames.filter((f) => f.direction === 'guest-to-guest' && f.flow?.dstPort === 5301);
    const payload = g2g.reduce((n, f) => n + f.payload, 0);
    assert.ok(payload >= STREAM_BYTES && payload <= STREAM_BYTES * 1.02);
    assert.ok(!sink.frames.some((f) => f.flow?.dstPort === 5301 && f.direction !== 'guest-to-guest'), 'guest-to-guest data never reaches the host TAP');
  } finally {
    await path.close();
  }
});

test('garbage sent out of a guest NIC is counted and dropped, and traffic still flows', async () => {
  const path = await startEmulatedPath(labRun, { mode: 'e1000', role: 'junk' });
  try {
    // A raw packet socket in the guest makes its kernel transmit frames no stack would build.
    const script = `
import os, random, socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
mac = bytes([2, 0, 0, 0, 0, 0x99])
frames = []
for i in range(50):
    ip = bytearray(os.urandom(40)); ip[0] = 0x45; struct.pack_into('!H', ip, 2, 1400 + i)   # total length beyond the frame
    frames.append(b'\\xff' * 6 + mac + b'\\x08\\x00' + bytes(ip))
for i in range(50):
    frames.append(b'\\xff' * 6 + bytes(6) + os.urandom(40))                                  # zero source MAC
for f in frames:
    s.send(f)
print(len(frames))
`;
    const py = labRun.spawn(path.guest, 'python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const count = Number((await stdoutOf(py)).trim());
    assert.equal(count, 100);
    for (let i = 0; i < 100 && path.relay.counters.garbage < count; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(path.relay.counters.garbage, count);
    assert.ok(path.relay.garbageReasons.length > 0 && path.relay.garbageReasons.length <= 8);
    await streamAcross(path);
  } finally {
    await path.close();
  }
});

test('rootless: an unprivileged user runs the emulated path inside a user namespace', async (t) => {
  const user = 'nobody';
  const repo = join(__dirname, '..', '..');
  const fixture = join(__dirname, 'fixtures', 'rootless-lab.ts');
  const as = (cmd: string[]): ReturnType<typeof spawnSync> =>
    spawnSync('setpriv', ['--reuid', user, '--regid', 'nogroup', '--clear-groups', '--', ...cmd], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
  if (as(['test', '-r', fixture]).status !== 0) {
    t.skip(`user ${user} cannot read ${repo}; the rootless run needs a checkout readable by an unprivileged user`);
    return;
  }
  const r = as(rootlessArgv([process.execPath, '--import', 'tsx', fixture]));
  if (as(['unshare', '-Urnm', 'true']).status !== 0) {
    // This kernel refuses unprivileged user namespaces: the lab must say so rather than half-run.
    assert.notEqual(r.status, 0);
    return;
  }
  assert.equal(r.status, 0, `${String(r.stdout)}${String(r.stderr)}`);
  const out = JSON.parse(String(r.stdout).trim().split('\n').pop()!) as { support: unknown; uid: number; intact: boolean };
  assert.deepEqual(out, { support: { ok: true, mode: 'userns' }, uid: 0, intact: true });
});

test('the emulated path says why it is unavailable: no namespaces, or no TAP addon', async () => {
  const noNamespaces = await emulatedPathSupport({ uid: () => 1000, attempt: async () => 'Operation not permitted' });
  assert.ok(!noNamespaces.ok && /emulated path unavailable: the lab cannot create network namespaces/.test(noNamespaces.reason));
  assert.deepEqual(await emulatedPathSupport(), { ok: true, mode: 'root' });
  const code = "require('./lab/emulated').emulatedPathSupport().then((s) => console.log(JSON.stringify(s)))";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: join(__dirname, '..', '..'), encoding: 'utf8', env: { ...process.env, LINSOCK_TAP_ADDON: '/nonexistent/linsock_tap.node' } });
  const s = JSON.parse(r.stdout) as { ok: boolean; reason: string };
  assert.equal(s.ok, false);
  assert.match(s.reason, /TAP addon: \/nonexistent\/linsock_tap.node is not built/);
  assert.match(s.reason, /npm install/);
});
