// The errno names that cross the wire and appear in traces. The wire carries an index into ERRNO_NAMES,
// so the list is append-only: reordering it would change the meaning of old traces and peers.

export const ERRNO_NAMES = [
  'EPERM', 'ENOENT', 'EINTR', 'EIO', 'EBADF', 'EAGAIN', 'ENOMEM', 'EACCES', 'EFAULT', 'EBUSY',
  'EEXIST', 'EINVAL', 'ENFILE', 'EMFILE', 'ENOSPC', 'EPIPE', 'ENOSYS', 'ENOTSOCK', 'EDESTADDRREQ',
  'EMSGSIZE', 'EPROTOTYPE', 'ENOPROTOOPT', 'EPROTONOSUPPORT', 'EOPNOTSUPP', 'EAFNOSUPPORT',
  'EADDRINUSE', 'EADDRNOTAVAIL', 'ENETDOWN', 'ENETUNREACH', 'ENETRESET', 'ECONNABORTED',
  'ECONNRESET', 'ENOBUFS', 'EISCONN', 'ENOTCONN', 'ESHUTDOWN', 'ETIMEDOUT', 'ECONNREFUSED',
  'EHOSTDOWN', 'EHOSTUNREACH', 'EALREADY', 'EINPROGRESS', 'ENOTFOUND', 'EAI_AGAIN', 'EPROTO',
  'ECANCELED',
] as const;

export type ErrnoName = (typeof ERRNO_NAMES)[number];

const INDEX = new Map<string, number>(ERRNO_NAMES.map((n, i) => [n, i]));

export function isErrnoName(s: unknown): s is ErrnoName {
  return typeof s === 'string' && INDEX.has(s);
}

/** The wire code of an errno name. */
export function errnoCode(name: ErrnoName): number {
  return INDEX.get(name) as number;
}

/** The errno name of a wire code, or undefined when the code is not one we know. */
export function errnoFromCode(code: number): ErrnoName | undefined {
  return ERRNO_NAMES[code];
}

/**
 * Maps any error that Node raises for a socket call to an errno name a socket programmer knows;
 * anything unrecognised becomes EIO rather than leaking a host-specific message to a guest.
 */
export function toErrnoName(err: unknown): ErrnoName {
  const code = (err as { code?: unknown } | null)?.code;
  if (isErrnoName(code)) return code;
  if (code === 'ERR_SOCKET_CLOSED' || code === 'ERR_STREAM_DESTROYED') return 'EBADF';
  if (code === 'ERR_SOCKET_DGRAM_NOT_RUNNING') return 'EBADF';
  if (code === 'ERR_STREAM_WRITE_AFTER_END') return 'EPIPE';
  if (code === 'ERR_INVALID_ADDRESS' || code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_SOCKET_BAD_PORT') return 'EINVAL';
  return 'EIO';
}
