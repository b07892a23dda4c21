// A newc cpio archive (the initramfs format the kernel unpacks), written directly so that building one
// needs neither a cpio program nor root: the /dev/console node is just a header here, no mknod.

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

function record(ino: number, mode: number, data: Buffer, path: string, rdev: [number, number] = [0, 0]): Buffer[] {
  const name = Buffer.from(`${path}\0`);
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length, 0];
  const header = Buffer.from(`070701${fields.map(hex8).join('')}`, 'latin1');
  return [header, name, pad4(header.length + name.length), data, pad4(data.length)];
}

export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (!path || path.length > 4096) throw new Error(`cpio: bad path '${e.path}'`);
    switch (e.kind) {
      case 'dir': parts.push(...record(ino++, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), path)); break;
      case 'file': parts.push(...record(ino++, S_IFREG | (e.mode ?? 0o644), e.data, path)); break;
      case 'symlink': parts.push(...record(ino++, S_IFLNK | 0o777, Buffer.from(e.target), path)); break;
      case 'chardev': parts.push(...record(ino++, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), path, [e.major, e.minor])); break;
    }
  }
  parts.push(...record(0, 0, Buffer.alloc(0), 'TRAILER!!!'));
  return Buffer.concat(parts);
}
