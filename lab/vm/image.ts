// The VM's boot files, built once from Debian packages and kept in .cache/vm by kernel release: the
// kernel as an uncompressed vmlinux (TCG spends seconds decompressing a bzImage at every boot), and an
// initramfs of busybox, the few drivers the VM uses and lab/vm/init.sh. Only the first build downloads
// (`apt-get download`, Debian's own registry); later builds reuse the packages offline.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cpioArchive, type CpioEntry } from './cpio';
import { repoRoot, vmCacheDir } from './repo-paths';
import { runCommand } from './run-command';

/** Drivers in load order (their dependencies first), as `modprobe --show-depends` lists them for 6.1. */
export const GUEST_MODULES = [
  'virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_console',
  'failover', 'net_failover', 'virtio_net', 'e1000', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p',
] as const;

const KERNEL_META_PACKAGE = 'linux-image-amd64';
const BUSYBOX_PACKAGE = 'busybox-static';
/** The xz magic that starts the compressed kernel inside a bzImage. */
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

export interface VmImage {
  /** Kernel release, e.g. 6.1.0-57-amd64. */
  release: string;
  vmlinux: string;
  initramfs: string;
}

/** The release the newest Debian kernel package has, from the local apt lists (no network). */
async function currentRelease(): Promise<string | null> {
  try {
    const out = (await runCommand('apt-cache', ['depends', KERNEL_META_PACKAGE])).toString();
    const m = /Depends:\s*linux-image-(\d[\w.+-]*-amd64)\b/.exec(out);
    return m ? (m[1] as string) : null;
  } catch {
    return null;
  }
}

function cachedReleases(cache: string): string[] {
  if (!existsSync(cache)) return [];
  return readdirSync(cache)
    .filter((n) => n.startsWith('kernel-') && existsSync(join(cache, n, 'vmlinux')))
    .map((n) => n.slice('kernel-'.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The .deb of `pkg` in `debs`, downloaded with apt-get when absent. */
async function debFor(debs: string, pkg: string): Promise<string> {
  const find = (): string | undefined => readdirSync(debs).find((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
  let name = find();
  if (!name) {
    try {
      await runCommand('apt-get', ['download', pkg], { cwd: debs, timeoutMs: 600_000 });
    } catch (e) {
      throw new Error(`could not download the Debian package ${pkg} for the VM (${(e as Error).message}); it is needed once, then kept in ${debs}`);
    }
    name = find();
    if (!name) throw new Error(`apt-get download ${pkg} left no ${pkg}_*.deb in ${debs}`);
  }
  return join(debs, name);
}

/** Unpacks the members of `deb` that match `patterns` (tar wildcards) into `into`. */
async function unpack(deb: string, into: string, patterns: string[]): Promise<void> {
  await runCommand('sh', ['-c', 'deb=$1; into=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$into" --wildcards "$@"', 'unpack', deb, into, ...patterns], { timeoutMs: 120_000 });
}

function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    } else if (entry.name === name) return p;
  }
  return null;
}

/** vmlinux from a bzImage: the xz stream inside it, decompressed (ELF; PVH boots it directly). */
async function extractVmlinux(vmlinuz: string): Promise<Buffer> {
  const image = readFileSync(vmlinuz);
  const at = image.indexOf(XZ_MAGIC);
  if (at < 0) throw new Error(`${vmlinuz} holds no xz-compressed kernel (no xz magic); Debian's amd64 kernels do`);
  // --single-stream: the bzImage goes on after the xz stream; those bytes are not ours to decode.
  const elf = await runCommand('xz', ['-dcq', '--single-stream'], { input: image.subarray(at), timeoutMs: 120_000 });
  if (elf.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new Error(`the kernel decompressed from ${vmlinuz} is not an ELF vmlinux`);
  return elf;
}

function initScript(): Buffer {
  // From the repository, not __dirname: bundled into dist/, this code no longer sits beside init.sh.
  return readFileSync(join(repoRoot(), 'lab', 'vm', 'init.sh'));
}

async function buildKernel(cache: string, release: string, out: string): Promise<void> {
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  const deb = await debFor(debs, `linux-image-${release}`);
  const work = mkdtempSync(join(cache, 'build-'));
  try {
    await unpack(deb, work, [`./boot/vmlinuz-${release}`, ...GUEST_MODULES.map((m) => `./lib/modules/${release}/*/${m}.ko`)]);
    const staged = mkdtempSync(join(cache, 'stage-'));
    chmodSync(staged, 0o755);
    writeFileSync(join(staged, 'vmlinux'), await extractVmlinux(join(work, 'boot', `vmlinuz-${release}`)));
    mkdirSync(join(staged, 'modules'));
    for (const m of GUEST_MODULES) {
      const ko = findFile(join(work, 'lib', 'modules', release), `${m}.ko`);
      if (!ko) throw new Error(`the kernel package ${basename(deb)} has no module ${m}.ko`);
      writeFileSync(join(staged, 'modules', `${m}.ko`), readFileSync(ko));
    }
    // Renamed into place whole, so that a build cut short never looks like a cached kernel.
    renameSync(staged, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function buildInitramfs(cache: string, kernelDir: string, out: string): Promise<void> {
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  const work = mkdtempSync(join(cache, 'build-'));
  try {
    await unpack(await debFor(debs, BUSYBOX_PACKAGE), work, ['./bin/busybox']);
    const entries: CpioEntry[] = [
      ...['bin', 'dev', 'proc', 'sys', 'host', 'lib', 'lib/modules'].map((path): CpioEntry => ({ kind: 'dir', path })),
      // Without /dev/console init would start with no stdin, stdout or stderr.
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'file', path: 'bin/busybox', data: readFileSync(join(work, 'bin', 'busybox')), mode: 0o755 },
      { kind: 'file', path: 'init', data: initScript(), mode: 0o755 },
      { kind: 'file', path: 'modules.order', data: Buffer.from(`${GUEST_MODULES.join('\n')}\n`) },
      ...GUEST_MODULES.map((m): CpioEntry => ({ kind: 'file', path: `lib/modules/${m}.ko`, data: readFileSync(join(kernelDir, 'modules', `${m}.ko`)) })),
    ];
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, cpioArchive(entries));
    renameSync(tmp, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The kernel and initramfs, built at first use. The kernel is the newest Debian 6.1 package the apt lists
 * know (or, offline without lists, the newest already built); the initramfs is rebuilt when init.sh changes.
 */
export async function ensureVmImage(cache = vmCacheDir()): Promise<VmImage> {
  mkdirSync(cache, { recursive: true });
  const release = (await currentRelease()) ?? cachedReleases(cache).pop();
  if (!release) throw new Error(`no Debian kernel for the VM: apt-cache knows no ${KERNEL_META_PACKAGE} (run apt-get update) and ${cache} holds none`);
  const kernelDir = join(cache, `kernel-${release}`);
  if (!existsSync(join(kernelDir, 'vmlinux'))) await buildKernel(cache, release, kernelDir);
  const tag = createHash('sha256').update(initScript()).update(GUEST_MODULES.join(',')).digest('hex').slice(0, 12);
  const initramfs = join(kernelDir, `initramfs-${tag}.cpio`);
  if (!existsSync(initramfs)) await buildInitramfs(cache, kernelDir, initramfs);
  return { release, vmlinux: join(kernelDir, 'vmlinux'), initramfs };
}
