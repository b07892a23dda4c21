// The trace server's bearer token: made once from crypto randomness, kept in a 0600 file and reused, so a
// client (the extension, `linsock record`) that can read the file can connect across daemon restarts.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { privateDirectory } from '../private-dir';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';

const MIN_TOKEN_CHARS = 16;
const MAX_TOKEN_CHARS = 512;

/** `$XDG_RUNTIME_DIR/linsock/token`, `/run/linsock/token` as root, else `~/.linsock/token`. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'linsock', 'token');
  if (process.getuid?.() === 0) return '/run/linsock/token';
  return join(homedir(), '.linsock', 'token');
}

export class TokenFileError extends Error {
  override name = 'TokenFileError';
}

/**
 * Reads the token at `file`, creating it (mode 0600, directory 0700) when it does not exist.
 * Refuses a file that others may read or that another user owns: the token would not be secret.
 */
export function loadOrCreateToken(file: string): string {
  // Whoever can write the directory could swap the token file for one they know.
  privateDirectory(dirname(file), 'token file');
  try {
    return readToken(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    // Another daemon created it between our read and our create: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readToken(file);
    throw err;
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return token;
}

/** Reads an existing token file, checking its mode and owner; throws ENOENT errors unchanged. */
export function readToken(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TokenFileError(`token file ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0)
      throw new TokenFileError(
        `token file ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); expected mode 600 — run \`chmod 600 ${file}\` or delete it to make a new token`,
      );
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid)
      throw new TokenFileError(`token file ${file} belongs to uid ${st.uid}, not to this user (uid ${uid}); delete it or pass another --token-file`);
    const token = readFileSync(fd, 'utf8').trim();
    if (token.length < MIN_TOKEN_CHARS || token.length > MAX_TOKEN_CHARS || /\s/.test(token))
      throw new TokenFileError(`token file ${file} does not hold a token (expected one line of ${MIN_TOKEN_CHARS}-${MAX_TOKEN_CHARS} characters); delete it to make a new one`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/** Compares in constant time so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(expected: string, offered: unknown): boolean {
  if (typeof offered !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(offered);
  return a.length === b.length && timingSafeEqual(a, b);
}
