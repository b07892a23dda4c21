// The Debian packages that `npm install`, `npm test` and `npm start` need, in one table, and the check each
// of them runs first: as root on Debian it installs what is missing (one apt-get line, said once); otherwise
// it stops within seconds and names the exact command, before any long work. LINSOCK_NO_APT=1 turns the
// installing off (check and report only). Usage: node scripts/prerequisites.mjs install|test|start
// Plain Node, no packages: `npm install` runs it before node_modules may be complete, and on a bare machine.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The steps, by the command a user types. */
export const STEPS = { install: 'npm install', test: 'npm test', start: 'npm start' };

/**
 * One row per Debian package. probe: what must exist, all of it (a command found on PATH or in the sbin
 * folders, or an absolute path); steps: which of STEPS need it; why: what needs it, said when it is missing.
 * Adding a package is adding a row.
 */
export const TABLE = [
  { probe: 'cc c++ make', pkg: 'build-essential', steps: 'install test start', why: "the native addons (native/*.c); code-server's native modules in the VS Code tests" },
  { probe: 'python3', pkg: 'python3', steps: 'install test start', why: 'node-gyp, which builds the native addons' },
  { probe: 'ip ss', pkg: 'iproute2', steps: 'test start', why: "the lab's namespaces, veths and TAP devices" },
  { probe: 'openssl', pkg: 'openssl', steps: 'test', why: "a self-signed certificate for the wss:// trace test" },
  { probe: 'rg', pkg: 'ripgrep', steps: 'test', why: "code-server's search, served offline in the VS Code tests" },
  { probe: '/usr/include/krb5.h', pkg: 'libkrb5-dev', steps: 'test', why: "code-server's kerberos module, built from source in the VS Code tests" },
  { probe: 'chromium', pkg: 'chromium', steps: 'test', why: 'the browser the VS Code and trace viewer tests drive' },
  { probe: 'promtool prometheus', pkg: 'prometheus', steps: 'test', why: "promtool lints linsockd's /metrics and a real Prometheus scrapes it" },
  { probe: 'qemu-system-x86_64', pkg: 'qemu-system-x86', steps: 'test', why: 'the VM tests boot a guest kernel' },
  // The guest kernel and busybox-static come as .debs by `apt-get download` at first use (lab/vm/image.ts).
  { probe: 'xz', pkg: 'xz-utils', steps: 'test', why: "the VM tests unpack the guest kernel (an xz stream inside vmlinuz)" },
  { probe: 'tshark', pkg: 'tshark', steps: 'test', why: 'the capture tests decode frames with tshark' },
  { probe: 'curl', pkg: 'curl', steps: 'test', why: 'the interposer tests run an unmodified curl delegated (test/interposer/)' },
  { probe: 'socat', pkg: 'socat', steps: 'test', why: 'the interposer tests send and serve UDP with an unmodified socat delegated (test/interposer/)' },
  { probe: 'nginx', pkg: 'nginx', steps: 'test', why: 'the interposer tests serve with an unmodified nginx delegated; `linsock bench --program curl` downloads from it' },
  { probe: 'iperf3', pkg: 'iperf3', steps: 'test', why: 'the interposer tests and `linsock bench --program iperf3` run an unmodified iperf3 delegated' },
  { probe: 'sockperf', pkg: 'sockperf', steps: 'test', why: '`linsock bench --program sockperf` measures ping-pong latency with an unmodified sockperf on each path' },
];

/** A Debian package name (Debian Policy 5.6.7): lower case, digits, + - and dots, two characters at least. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * Checks and splits the table's rows: probes and steps become lists. Throws on a row that could not work:
 * an unknown step, no probe, a relative path as probe, a malformed or repeated package name.
 */
export function parseTable(rows) {
  const seen = new Set();
  return rows.map((row, i) => {
    const where = `prerequisites row ${i + 1} (${row.pkg})`;
    if (typeof row.pkg !== 'string' || !PACKAGE_NAME.test(row.pkg)) throw new Error(`${where}: "${row.pkg}" is not a Debian package name`);
    if (seen.has(row.pkg)) throw new Error(`${where}: ${row.pkg} has a row already; one row per package`);
    seen.add(row.pkg);
    const probes = String(row.probe ?? '').split(/\s+/).filter(Boolean);
    if (!probes.length) throw new Error(`${where}: no probe (a command or an absolute path that the package provides)`);
    for (const p of probes) if (p.includes('/') && !p.startsWith('/')) throw new Error(`${where}: probe "${p}" is a relative path; give a command name or an absolute path`);
    const steps = String(row.steps ?? '').split(/\s+/).filter(Boolean);
    if (!steps.length) throw new Error(`${where}: no steps (any of ${Object.keys(STEPS).join(', ')})`);
    for (const s of steps) if (!(s in STEPS)) throw new Error(`${where}: unknown step "${s}" (expected ${Object.keys(STEPS).join(', ')})`);
    if (typeof row.why !== 'string' || !row.why) throw new Error(`${where}: say why the package is needed`);
    return { probes, pkg: row.pkg, steps, why: row.why };
  });
}

/** The packages `step` needs whose probes do not all exist, with the probes that were absent. */
export function missingPackages(step, parsed, isPresent) {
  return parsed
    .filter((r) => r.steps.includes(step))
    .map((r) => ({ pkg: r.pkg, why: r.why, absent: r.probes.filter((p) => !isPresent(p)) }))
    .filter((m) => m.absent.length > 0);
}

/** The packages, one line each: name, what was absent, why. */
function describe(missing) {
  const width = Math.max(...missing.map((m) => m.pkg.length));
  return missing.map((m) => `  ${m.pkg.padEnd(width)}  ${m.why} (${m.absent.join(', ')} not found)`).join('\n');
}

/**
 * What to do about `missing` on this host ({ root, debian, noApt }): nothing, install (root on Debian, not
 * opted out), or stop with a message that names the exact command to run.
 */
export function plan(step, missing, host) {
  if (!missing.length) return { action: 'none' };
  const pkgs = missing.map((m) => m.pkg);
  const name = STEPS[step];
  const count = `${pkgs.length} Debian package${pkgs.length === 1 ? '' : 's'}`;
  if (host.root && host.debian && !host.noApt) {
    const command = `apt-get install -y ${pkgs.join(' ')}`;
    const notice = `linsock: ${name} needs ${count} that ${pkgs.length === 1 ? 'is' : 'are'} not installed; installing as root (LINSOCK_NO_APT=1 turns this off):\n${describe(missing)}\n  ${command}`;
    return { action: 'install', packages: pkgs, command, notice };
  }
  const command = `${host.root ? '' : 'sudo '}apt-get install -y ${pkgs.join(' ')}`;
  const them = pkgs.length === 1 ? 'it' : 'them';
  const why = !host.debian
    ? 'This is not Debian (no /etc/debian_version or no apt-get), so nothing was installed: install what provides the commands and files above. On Debian it is:'
    : host.root
      ? `LINSOCK_NO_APT is set, so nothing was installed. Install ${them}, then run ${name} again:`
      : `Install ${them}, then run ${name} again (as root, ${name} installs ${them} itself):`;
  return { action: 'stop', packages: pkgs, command, message: `linsock: ${name} needs ${count} that ${pkgs.length === 1 ? 'is' : 'are'} not installed:\n${describe(missing)}\n${why}\n  ${command}` };
}

/** Whether a probe exists here: an absolute path, or a command on PATH or in the sbin folders (where Debian puts ip). */
export function onThisHost(probe, env = process.env) {
  if (probe.startsWith('/')) return existsSync(probe);
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  return dirs.some((d) => {
    try {
      accessSync(join(d, probe), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The facts `plan` decides on, read from this host and the environment. */
export function hostFacts(env = process.env) {
  return {
    root: process.getuid?.() === 0,
    debian: existsSync('/etc/debian_version') && onThisHost('apt-get', env),
    noApt: !!env.LINSOCK_NO_APT && env.LINSOCK_NO_APT !== '0',
  };
}

/** apt-get update, then install, quietly; on failure prints the end of apt's output. Returns whether it worked. */
export function aptInstall(packages, print = console.error) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...packages]]) {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) {
      const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
      print(`linsock: apt-get ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}):\n${tail}`);
      return false;
    }
  }
  return true;
}

/**
 * Checks `step`'s packages and acts on the plan. Returns the exit code: 0 when everything is there (or was
 * installed), 1 otherwise. Everything it uses from the host can be replaced, so that tests install nothing.
 */
export function ensurePrerequisites(step, {
  rows = TABLE, isPresent = (p) => onThisHost(p), host = hostFacts(), install = aptInstall, print = console.error,
} = {}) {
  if (!(step in STEPS)) throw new Error(`unknown step "${step}" (expected ${Object.keys(STEPS).join(', ')})`);
  const parsed = parseTable(rows);
  const decision = plan(step, missingPackages(step, parsed, isPresent), host);
  if (decision.action === 'none') return 0;
  if (decision.action === 'stop') {
    print(decision.message);
    return 1;
  }
  print(decision.notice);
  const t0 = Date.now();
  if (!install(decision.packages, print)) return 1;
  const still = missingPackages(step, parsed, isPresent);
  if (still.length) {
    print(`linsock: installed ${decision.packages.join(' ')}, but these are still not found:\n${describe(still)}`);
    return 1;
  }
  print(`linsock: installed ${decision.packages.join(' ')} in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const step = process.argv[2] ?? '';
  if (!(step in STEPS)) {
    console.error(`usage: node scripts/prerequisites.mjs ${Object.keys(STEPS).join('|')} (checks, and as root on Debian installs, what that npm step needs)`);
    process.exit(2);
  }
  process.exit(ensurePrerequisites(step));
}
