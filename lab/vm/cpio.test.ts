// The initramfs writer: each record's newc header carries the right type, size, device numbers and name,
// data is 4-byte aligned, and the archive ends with the trailer the kernel looks for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpioArchive } from './cpio';

interface Parsed { name: string; mode: number; size: number; rdev: [number, number]; data: Buffer }

function parse(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  for (;;) {
    assert.equal(buf.toString('latin1', at, at + 6), '070701', `magic at ${at}`);
    const field = (i: number): number => parseInt(buf.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
    const [mode, size, rmaj, rmin, namesize] = [field(1), field(6), field(9), field(10), field(11)];
    const name = buf.toString('latin1', at + 110, at + 110 + namesize - 1);
    let p = at + 110 + namesize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    out.push({ name, mode, size, rdev: [rmaj, rmin], data });
    at = p;
    if (name === 'TRAILER!!!') break;
  }
  assert.equal(at, buf.length, 'nothing after the trailer');
  return out;
}

test('a newc archive holds dirs, files, symlinks and a char device, aligned, with the trailer', () => {
  const buf = cpioArchive([
    { kind: 'dir', path: '/dev' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
  ]);
  const [dir, dev, init, link, trailer] = parse(buf);
  assert.equal(dir?.name, 'dev');
  assert.equal(dir?.mode, 0o040755);
  assert.equal(dev?.mode, 0o020600);
  assert.deepEqual(dev?.rdev, [5, 1]);
  assert.equal(init?.mode, 0o100755);
  assert.equal(init?.data.toString(), '#!/bin/sh\n');
  assert.equal(link?.mode, 0o120777);
  assert.equal(link?.data.toString(), 'busybox');
  assert.equal(trailer?.name, 'TRAILER!!!');
});

test('a record without a name is refused', () => {
  assert.throws(() => cpioArchive([{ kind: 'dir', path: '/' }]), /bad path/);
});
