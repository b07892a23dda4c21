// The directories of the guest socket and the token file. Whoever can write such a directory can replace
// what is in it: another user who made $TMPDIR/linsock-UID/ first (mode 0777) swapped guest.sock for their
// own and read a guest's HELLO. So the directory is made here with mode 0700, and an existing one is used
// only when it is a real directory (no symlink) of this user, or root's, that no group or other user can
// write; a sticky directory of root's (/tmp) is accepted too, since there nobody else may remove or rename
// our files. Anything else is refused with the reason and what to do.
import { lstatSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class UnsafeDirectoryError extends Error {
  override name = 'UnsafeDirectoryError';
}

/** Makes `dir` (0700) or checks an existing one; `what` names its use in the error ("guest socket"). */
export function privateDirectory(dir: string, what: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    st = lstatSync(dir);
  }
  const uid = process.getuid?.();
  if (st.isSymbolicLink()) throw new UnsafeDirectoryError(`the ${what} directory ${dir} is a symbolic link; refusing it (remove it, or choose another path)`);
  if (!st.isDirectory()) throw new UnsafeDirectoryError(`the ${what} directory ${dir} is not a directory`);
  if (uid === undefined) return;
  const ownerOk = st.uid === uid || st.uid === 0;
  const sticky = (st.mode & 0o1000) !== 0;
  const writableByOthers = (st.mode & 0o022) !== 0;
  if (!ownerOk)
    throw new UnsafeDirectoryError(`the ${what} directory ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}) or root: another user could replace its files; remove it or choose another path`);
  if (writableByOthers && !(sticky && st.uid === 0))
    throw new UnsafeDirectoryError(
      `the ${what} directory ${dir} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): another user could replace its files; run \`chmod go-w ${dir}\` or choose another path`,
    );
}
