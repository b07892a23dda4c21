// Errors the guest runtime raises: Node-style errors (`code`, `errno`, `syscall`) built from the errno
// names that cross the wire, so code written for node:net can switch on `err.code` unchanged.

import { constants } from 'node:os';
import type { ErrnoName } from '../protocol';

export interface SocketError extends Error {
  code: ErrnoName | string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

/** An error whose `code` is the errno name, as node:net raises them (errno negative, as libuv's). */
export function socketError(code: ErrnoName | string, syscall: string, detail: string, where?: { address?: string; port?: number }): SocketError {
  const at = where?.address !== undefined ? ` ${where.address}${where.port !== undefined ? `:${where.port}` : ''}` : '';
  const err = new Error(`${syscall} ${code}${at}${detail ? ` (${detail})` : ''}`) as SocketError;
  err.code = code;
  err.errno = -((constants.errno as Record<string, number>)[code] ?? 0);
  err.syscall = syscall;
  if (where?.address !== undefined) err.address = where.address;
  if (where?.port !== undefined) err.port = where.port;
  return err;
}

/** An argument or state error as Node raises them: `code` is ERR_..., the class names the kind (RangeError...). */
export function nodeError(code: string, message: string, Kind: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor = Error): Error & { code: string } {
  const err = new Kind(message) as Error & { code: string };
  err.code = code;
  return err;
}
