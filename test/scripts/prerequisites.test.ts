// scripts/prerequisites.mjs: its one table must parse, a fake host decides which packages are missing, and
// the plan must install only as root on Debian, and otherwise stop naming the exact command. Nothing here
// installs anything: the apt step is replaced by a recorder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  STEPS, TABLE, ensurePrerequisites, missingPackages, parseTable, plan, onThisHost, type Host, type Row,
} from '../../scripts/prerequisites.mjs';

const repo = resolve(__dirname, '..', '..');
const ROOT_ON_DEBIAN: Host = { root: true, debian: true, noApt: false };
const USER_ON_DEBIAN: Host = { root: false, debian: true, noApt: false };

const rows: Row[] = [
  { probe: 'cc make', pkg: 'build-essential', steps: 'install test', why: 'the addons' },
  { probe: 'rg', pkg: 'ripgrep', steps: 'test', why: 'search' },
  { probe: '/usr/include/krb5.h', pkg: 'libkrb5-dev', steps: 'test', why: 'kerberos' },
  { probe: 'ip', pkg: 'iproute2', steps: 'test start', why: 'namespaces' },
];
/** A host that has everything but `absent`. */
const hostWithout = (...absent: string[]) => (p: string): boolean => !absent.includes(p);

test('the real table parses, and each step needs what the README says', () => {
  const parsed = parseTable(TABLE);
  const needs = (step: string): string[] => parsed.filter((r) => r.steps.includes(step)).map((r) => r.pkg);
  assert.deepEqual(needs('install'), ['build-essential', 'python3']);
  for (const pkg of ['build-essential', 'iproute2', 'openssl', 'ripgrep', 'libkrb5-dev', 'chromium', 'prometheus', 'qemu-system-x86', 'xz-utils', 'tshark'])
    assert.ok(needs('test').includes(pkg), `npm test needs ${pkg}`);
  assert.deepEqual(needs('start'), ['build-essential', 'python3', 'iproute2']);
  for (const step of Object.keys(STEPS)) assert.ok(needs(step).length > 0, `${step} has rows`);
});

test('the README\'s setup section names every package of the table', () => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const setup = readme.slice(readme.indexOf('## Two commands'), readme.indexOf('\n## ', readme.indexOf('## Two commands') + 1));
  for (const { pkg } of TABLE) assert.match(setup, new RegExp(`\\b${pkg.replace(/[+.]/g, '\\$&')}\\b`), `README "Two commands" does not name ${pkg}`);
});

test('a row that could not work is refused, naming the row and what is wrong', () => {
  const one = (row: Partial<Row>): Row[] => [{ probe: 'rg', pkg: 'ripgrep', steps: 'test', why: 'search', ...row }];
  assert.throws(() => parseTable(one({ steps: 'test deploy' })), /row 1 \(ripgrep\): unknown step "deploy"/);
  assert.throws(() => parseTable(one({ steps: ' ' })), /no steps/);
  assert.throws(() => parseTable(one({ probe: '' })), /no probe/);
  assert.throws(() => parseTable(one({ probe: 'usr/bin/rg' })), /relative path/);
  assert.throws(() => parseTable(one({ pkg: 'RipGrep' })), /not a Debian package name/);
  assert.throws(() => parseTable(one({ pkg: 'rg; rm -rf /' })), /not a Debian package name/);
  assert.throws(() => parseTable(one({ why: '' })), /say why/);
  assert.throws(() => parseTable([...one({}), ...one({ probe: 'rg2' })]), /row 2 \(ripgrep\): ripgrep has a row already/);
});

test('missing packages: only the step\'s rows, a package missing when any of its probes is absent', () => {
  const parsed = parseTable(rows);
  assert.deepEqual(missingPackages('test', parsed, hostWithout()), []);
  assert.deepEqual(missingPackages('test', parsed, hostWithout('make', 'rg')), [
    { pkg: 'build-essential', why: 'the addons', absent: ['make'] },
    { pkg: 'ripgrep', why: 'search', absent: ['rg'] },
  ]);
  // ripgrep is a test package: npm install does not ask for it.
  assert.deepEqual(missingPackages('install', parsed, hostWithout('rg')), []);
  assert.deepEqual(missingPackages('start', parsed, hostWithout('rg', 'ip', '/usr/include/krb5.h')).map((m) => m.pkg), ['iproute2']);
});

test('the plan: nothing, install as root on Debian, otherwise stop with the exact command', () => {
  const missing = missingPackages('test', parseTable(rows), hostWithout('rg', '/usr/include/krb5.h'));
  assert.deepEqual(plan('test', [], USER_ON_DEBIAN), { action: 'none' });

  const install = plan('test', missing, ROOT_ON_DEBIAN);
  assert.equal(install.action, 'install');
  if (install.action !== 'install') return;
  assert.deepEqual(install.packages, ['ripgrep', 'libkrb5-dev']);
  assert.equal(install.command, 'apt-get install -y ripgrep libkrb5-dev');
  assert.match(install.notice, /npm test needs 2 Debian packages/);
  assert.match(install.notice, /ripgrep {6}search \(rg not found\)/);
  assert.match(install.notice, /libkrb5-dev {2}kerberos \(\/usr\/include\/krb5\.h not found\)/);
  assert.equal(install.notice.split('\n').filter((l) => l.includes('apt-get install')).length, 1, 'the apt-get line is said once');

  const asUser = plan('test', missing, USER_ON_DEBIAN);
  assert.equal(asUser.action, 'stop');
  if (asUser.action !== 'stop') return;
  assert.equal(asUser.command, 'sudo apt-get install -y ripgrep libkrb5-dev');
  assert.ok(asUser.message.endsWith(`\n  ${asUser.command}`), asUser.message);
  assert.match(asUser.message, /run npm test again \(as root, npm test installs them itself\)/);

  const optedOut = plan('test', missing, { ...ROOT_ON_DEBIAN, noApt: true });
  assert.equal(optedOut.action, 'stop');
  if (optedOut.action !== 'stop') return;
  assert.equal(optedOut.command, 'apt-get install -y ripgrep libkrb5-dev', 'root needs no sudo');
  assert.match(optedOut.message, /LINSOCK_NO_APT is set, so nothing was installed/);

  const elsewhere = plan('start', missing.slice(0, 1), { root: true, debian: false, noApt: false });
  assert.equal(elsewhere.action, 'stop');
  if (elsewhere.action !== 'stop') return;
  assert.match(elsewhere.message, /npm start needs 1 Debian package that is not installed/);
  assert.match(elsewhere.message, /This is not Debian/);
});

/** Runs ensurePrerequisites on a fake host; `installs` says whether the fake apt-get makes the probes appear. */
function ensure(step: string, host: Host, absent: string[], installs = true) {
  const gone = new Set(absent);
  const calls: string[][] = [];
  const out: string[] = [];
  const code = ensurePrerequisites(step, {
    rows, host, print: (t) => out.push(t), isPresent: (p) => !gone.has(p),
    install: (pkgs) => {
      calls.push(pkgs);
      if (installs) gone.clear();
      return installs;
    },
  });
  return { code, calls, out: out.join('\n') };
}

test('ensure: as root on Debian it installs once, in one call, and passes when the probes then exist', () => {
  const r = ensure('test', ROOT_ON_DEBIAN, ['rg', 'ip']);
  assert.equal(r.code, 0);
  assert.deepEqual(r.calls, [['ripgrep', 'iproute2']]);
  assert.match(r.out, /installed ripgrep iproute2 in \d+s/);
});

test('ensure: nothing missing means no install and no output', () => {
  assert.deepEqual(ensure('install', ROOT_ON_DEBIAN, ['rg']), { code: 0, calls: [], out: '' });
});

test('ensure: as a user it installs nothing and fails naming the sudo command', () => {
  const r = ensure('install', USER_ON_DEBIAN, ['cc']);
  assert.equal(r.code, 1);
  assert.deepEqual(r.calls, []);
  assert.match(r.out, /sudo apt-get install -y build-essential/);
});

test('ensure: a failed apt-get, or a probe still absent after it, fails the step', () => {
  assert.equal(ensure('test', ROOT_ON_DEBIAN, ['rg'], false).code, 1);
  const gone = new Set(['rg']);
  const out: string[] = [];
  const code = ensurePrerequisites('test', { rows, host: ROOT_ON_DEBIAN, print: (t) => out.push(t), isPresent: (p) => !gone.has(p), install: () => true });
  assert.equal(code, 1);
  assert.match(out.join('\n'), /installed ripgrep, but these are still not found:\n {2}ripgrep {2}search \(rg not found\)/);
  assert.throws(() => ensurePrerequisites('deploy', { rows }), /unknown step "deploy"/);
});

test('probes: absolute paths and commands, also from the sbin folders a user PATH lacks', () => {
  assert.equal(onThisHost(process.execPath), true);
  assert.equal(onThisHost('/nonexistent/linsock-probe'), false);
  assert.equal(onThisHost('node', { PATH: resolve(process.execPath, '..') }), true);
  assert.equal(onThisHost('linsock-no-such-command', { PATH: '/usr/bin' }), false);
  // Debian puts ip in /usr/sbin, which a user's PATH lacks: an empty PATH still finds it there.
  const sbinIp = ['/usr/local/sbin', '/usr/sbin', '/sbin'].some((d) => existsSync(join(d, 'ip')));
  assert.equal(onThisHost('ip', { PATH: '' }), sbinIp);
});

test('the command line refuses an unknown step with its usage and exit 2', () => {
  const r = spawnSync(process.execPath, [join(repo, 'scripts', 'prerequisites.mjs'), 'deploy'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: node scripts\/prerequisites\.mjs install\|test\|start/);
});
