// Whether a program is dynamically linked: LD_PRELOAD reaches only programs that the dynamic loader starts,
// so a statically linked one would bypass the interposer silently. An ELF file is dynamic when a program
// header is PT_INTERP; anything else (a #! script, not ELF) is left to the kernel and its interpreter.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const PT_INTERP = 3;
/** The program header table is read only this far; real ones take a few hundred bytes. */
const MAX_HEADERS_BYTES = 64 * 1024;

export type Linking = 'dynamic' | 'static' | 'not-elf';

/** Reads the ELF header and program headers of `file` (64- or 32-bit, either byte order). */
export function linkingOf(file: string): Linking {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 52 || head.readUInt32BE(0) !== 0x7f454c46) return 'not-elf';
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const bytes = phentsize * phnum;
    if (phentsize < 4 || bytes > MAX_HEADERS_BYTES) return 'not-elf';
    const table = Buffer.alloc(bytes);
    if (readSync(fd, table, 0, bytes, phoff) < bytes) return 'not-elf';
    for (let i = 0; i < phnum; i++) if (u32(table, i * phentsize) === PT_INTERP) return 'dynamic';
    return 'static';
  } finally {
    closeSync(fd);
  }
}

/** The file `command` names, as execvp would find it on PATH; null when there is none. */
export function whichProgram(command: string, path = process.env.PATH ?? ''): string | null {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter(Boolean).map((d) => join(d, command));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* not here */
    }
  }
  return null;
}
