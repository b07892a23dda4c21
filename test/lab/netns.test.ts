// LabRun owns its namespaces and processes: nothing is left after success, a failure mid-setup,
// SIGINT, or a hard kill followed by a sweep; a machine without namespaces gets the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabRun, MARKER_DIR, NamespacesUnavailable, namespaceSupport, type NamespaceProbe } from '../../lab/netns';

function netnsList(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
function assertGone(runName: string, pids: number[]): void {
  assert.deepEqual(netnsList().filter((n) => n.startsWith(`${runName}-`)), [], 'namespaces left behind');
  for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} left behind`);
  assert.equal(existsSync(join(MARKER_DIR, `${runName}.pid`)), false, 'marker left behind');
}
async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a run creates guests with only lo, runs processes inside, and leaves nothing after teardown', async () => {
  const labRun = await LabRun.create({ handleSignals: false });
  assert.match(labRun.name, /^lsk-[0-9a-f]{6}$/);
  const guest = await labRun.addGuest('client', 'delegated');
  assert.ok(netnsList().includes(guest.netns));
  const links = await labRun.exec(guest, 'ip', ['-o', 'link']);
  assert.deepEqual(links.trim().split('\n').map((l) => l.split(':')[1]?.trim()), ['lo']);
  assert.match(links, /state UNKNOWN|LOWER_UP/);
  const sleeper = labRun.spawn(guest, 'sleep', ['600'], { stdio: 'ignore' });
  await new Promise((r) => sleeper.once('spawn', r));
  const pid = sleeper.pid!;
  assert.ok(alive(pid));
  const dying = labRun.spawn(guest, 'sh', ['-c', 'exit 3'], { stdio: 'ignore' });
  assert.equal(await new Promise((r) => dying.once('exit', r)), 3, 'a child that dies leaves the run usable');
  assert.ok((await labRun.exec(guest, 'ip', ['-o', 'link'])).includes('lo'));
  await labRun.teardown();
  await labRun.teardown(); // idempotent
  assertGone(labRun.name, [pid]);
  assert.throws(() => labRun.spawn(guest, 'true'), /torn down/);
});

test('a failure mid-setup still leaves nothing behind', async () => {
  const labRun = await LabRun.create({ handleSignals: false });
  let pid = 0;
  await assert.rejects(async () => {
    try {
      const g = await labRun.addGuest('first', 'emulated');
      const s = labRun.spawn(g, 'sleep', ['600'], { stdio: 'ignore' });
      await new Promise((r) => s.once('spawn', r));
      pid = s.pid!;
      await labRun.addGuest('first', 'emulated'); // duplicate role: throws
    } finally {
      await labRun.teardown();
    }
  }, /already exists/);
  assert.ok(pid > 0);
  assertGone(labRun.name, [pid]);
});

interface ChildInfo {
  run: string;
  netns: string;
  sleeper: number;
  hostSleeper: number;
  tap: string | null;
}

function startChild(...args: string[]): Promise<{ child: ReturnType<typeof spawn>; info: ChildInfo }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'lab-run-child.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ child, info: JSON.parse(line) });
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
}

function hostLinks(): string {
  return spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
}

test('SIGINT to the owning process tears its run down: namespaces, TAPs, guest and host processes', async () => {
  const { child, info } = await startChild('emulated');
  assert.ok(netnsList().includes(info.netns));
  assert.ok(alive(info.sleeper) && alive(info.hostSleeper));
  assert.ok(info.tap && hostLinks().includes(`${info.tap}:`), 'the host TAP exists while the run lives');
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  assert.equal(await exit, 130);
  await waitFor(() => !alive(info.sleeper) && !alive(info.hostSleeper));
  assertGone(info.run, [info.sleeper, info.hostSleeper]);
  assert.ok(!hostLinks().includes(info.run), 'no device of the run is left');
});

test('after a hard kill, the next sweep removes the dead run and its processes', async () => {
  const { child, info } = await startChild();
  const exit = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exit;
  assert.ok(netnsList().includes(info.netns), 'SIGKILL cannot clean up: the namespace is still there');
  const swept = await LabRun.sweep();
  assert.ok(swept.includes(info.run));
  await waitFor(() => !alive(info.sleeper) && !alive(info.hostSleeper));
  assertGone(info.run, [info.sleeper, info.hostSleeper]);
});

test('the sweep never touches a live run', async () => {
  const labRun = await LabRun.create({ handleSignals: false });
  try {
    const g = await labRun.addGuest('keep', 'delegated');
    assert.ok(!(await LabRun.sweep()).includes(labRun.name));
    assert.ok(netnsList().includes(g.netns));
  } finally {
    await labRun.teardown();
  }
});

test('without root or user namespaces the lab says why and creates nothing', async () => {
  const probe: NamespaceProbe = {
    uid: () => 1000,
    attempt: async () => 'unshare: unshare failed: Operation not permitted',
  };
  const support = await namespaceSupport(probe);
  assert.equal(support.ok, false);
  assert.ok(!support.ok && /not root \(uid 1000\)/.test(support.reason) && /user namespaces are not available/.test(support.reason));
  const before = netnsList();
  await assert.rejects(LabRun.create({ support }), (e: unknown) => e instanceof NamespacesUnavailable && /cannot create network namespaces/.test(e.message));
  assert.deepEqual(netnsList(), before);
  const real = await namespaceSupport();
  assert.deepEqual(real, { ok: true, mode: 'root' }, 'CI runs as root');
});
