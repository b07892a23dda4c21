// The linsock_sockbuf N-API addon (native/socket-buffer.c) typed: a stream socket's kernel send buffer,
// which Node sets for UDP only, and a write of what the kernel takes at once. How deep a buffer a channel
// wants, and what to do with bytes the kernel did not take, is the owner's decision (daemon/, guest/).

import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { loadAddon, type AddonSpec } from './addon';

/** setSendBuffer returns the size the kernel granted, or -errno; tryWrite the bytes the kernel took, or -errno. */
type SockbufAddon = { setSendBuffer(fd: number, bytes: number): number; tryWrite(fd: number, bytes: Uint8Array): number };

const SOCKBUF: AddonSpec = { target: 'linsock_sockbuf', pathVariable: 'LINSOCK_SOCKBUF_ADDON' };

/** Why send buffers keep the kernel's default here, or null when they can be deepened. */
export function sendBufferProblem(): string | null {
  const load = loadAddon<SockbufAddon>(SOCKBUF);
  return load.ok ? null : load.reason;
}

/** Asks for `bytes` of send buffer on the connected socket; returns the size granted, or why not. */
export function setSendBuffer(socket: Socket, bytes: number): number | string {
  const load = loadAddon<SockbufAddon>(SOCKBUF);
  if (!load.ok) return load.reason;
  // Node keeps the descriptor on its libuv handle; it has none before connecting or after closing.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 'the socket has no file descriptor';
  const granted = load.addon.setSendBuffer(fd, bytes);
  return granted > 0 ? granted : `setsockopt(SO_SNDBUF) failed: ${getSystemErrorName(granted)}`;
}

/**
 * Writes as much of `bytes` on the connected socket as its kernel buffer takes now, without blocking and
 * around Node's write queue (so call it only while that queue is empty, or the bytes overtake queued ones).
 * Returns the bytes taken: 0 when the buffer is full, the addon is missing or the socket has no
 * descriptor, and on an error, which the caller's next write through the socket then reports.
 */
export function tryWrite(socket: Socket, bytes: Uint8Array): number {
  const load = loadAddon<SockbufAddon>(SOCKBUF);
  if (!load.ok) return 0;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  return Math.max(0, load.addon.tryWrite(fd, bytes));
}
