// `npm install` runs this (scripts.install): builds the native addons of the root binding.gyp (the TAP
// addon, native/tap.c, the channel send-buffer addon, native/socket-buffer.c, the daemon's process
// addon, native/process-limits.c, the shared-memory channel's, native/shm-channel.c, the device channel's
// event-loop reads, native/device-poll.c, and the descriptor-passing addon, native/fd-pass.c) with node-gyp
// against Node's own headers, never downloading them. When the build fails it says why and what to
// install; the install still succeeds (without them the emulated path is unavailable and delegated bulk
// transfers run slower) unless LINSOCK_REQUIRE_NATIVE=1 (CI), where a missing addon must fail loudly.
// The C toolchain it needs was checked (and, as root on Debian, installed) just before by
// scripts/prerequisites.mjs install. `--if-missing` (npm start) builds only when an addon is not there yet.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const ADDONS = ['linsock_tap.node', 'linsock_sockbuf.node', 'linsock_shm.node', 'linsock_devpoll.node', 'linsock_fdpass.node'];
/** The LD_PRELOAD interposer of `linsock run` (native/interposer/): a plain shared object, built with cc. */
const PRELOAD = 'liblinsock_preload.so';
if (process.argv.includes('--if-missing') && [...ADDONS, PRELOAD].every((a) => existsSync(join(root, 'build', 'Release', a)))) process.exit(0);

/** Builds the interposer with the system cc, offline; returns null on success, else why not. */
function buildPreload() {
  const dir = join(root, 'native', 'interposer');
  const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).sort().map((f) => join(dir, f));
  mkdirSync(join(root, 'build', 'Release'), { recursive: true });
  const out = join(root, 'build', 'Release', PRELOAD);
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', '-pthread', '-o', out, ...sources, '-ldl'], { encoding: 'utf8' });
  if (r.error) return `cc could not run: ${r.error.message}`;
  return r.status === 0 ? null : (r.stderr || `cc exited with ${r.status}`).trim().split('\n').slice(0, 6).join('\n  ');
}
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');

/** npm hands its bundled node-gyp to scripts in npm_config_node_gyp; otherwise look for npm's copy. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    return existsSync(bundled) ? bundled : null;
  }
}

const gyp = nodeGyp();
const result = gyp ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' }) : null;
if (result && result.status === 0) {
  console.log('linsock: built the native addons (build/Release/linsock_tap.node, linsock_sockbuf.node, linsock_proc.node, linsock_shm.node, linsock_devpoll.node, linsock_fdpass.node)');
} else {
  const why = !gyp ? 'node-gyp was not found (it comes with npm)' : (result.stderr || '').split('\n').filter((l) => /error|not found|No such/i.test(l)).slice(0, 6).join('\n  ');
  console.error(`linsock: the native addons (native/*.c) did not build, so the emulated path will be unavailable
and the delegated path's bulk transfers run slower (guest channels keep the kernel's default send buffer,
a VM's channel device is read through the thread pool);
the direct and delegated paths work without them.
  ${why || `node-gyp exited with ${result?.status}`}
It needs a C compiler, make and python3 (node scripts/prerequisites.mjs install checks them) and Node's
headers in /usr/include/node (Debian's nodejs package), then: npm rebuild, or npm_config_nodedir=/usr npx node-gyp rebuild`);
  if (process.env.LINSOCK_REQUIRE_NATIVE === '1') process.exit(1);
}

// After node-gyp: its rebuild starts by removing build/.
const preloadProblem = buildPreload();
if (preloadProblem) {
  console.error(`linsock: the interposer (native/interposer/*.c) did not build, so \`linsock run --path delegated\` is unavailable:\n  ${preloadProblem}`);
  if (process.env.LINSOCK_REQUIRE_NATIVE === '1') process.exit(1);
} else {
  console.log(`linsock: built the interposer (build/Release/${PRELOAD})`);
}
