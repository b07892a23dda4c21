// The linsock_fdpass N-API addon (native/fd-pass.c) typed: one frame written on a Unix stream socket with a
// descriptor attached (SCM_RIGHTS), which libuv cannot send on a socket it owns. linsockd's passed-descriptor
// data plane (protocol/README.md, passFd) uses it; when the addon is missing the plane is not offered.

import type { Socket } from 'node:net';
import { loadAddon, type AddonSpec } from './addon';

/** sendWithFd returns the bytes written (the descriptor went with the first), or -errno. */
type FdPassAddon = { sendWithFd(channelFd: number, frame: Buffer, fd: number): number };

const FDPASS: AddonSpec = { target: 'linsock_fdpass', pathVariable: 'LINSOCK_FDPASS_ADDON' };

/** Why descriptors cannot be passed here, or null when they can. */
export function fdPassProblem(): string | null {
  const load = loadAddon<FdPassAddon>(FDPASS);
  return load.ok ? null : load.reason;
}

/** The descriptor Node keeps on a socket's libuv handle (Linux), or -1 before connecting / after closing. */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * Writes `frame` on the channel's descriptor with `fd` attached; returns the bytes written (the caller
 * writes the rest through the socket, its queue being empty) or -errno (nothing went), or the reason the
 * addon is unavailable.
 */
export function sendWithFd(channel: Socket, frame: Buffer, fd: number): number | string {
  const load = loadAddon<FdPassAddon>(FDPASS);
  if (!load.ok) return load.reason;
  const chan = socketFd(channel);
  if (chan < 0) return 'the channel has no file descriptor';
  return load.addon.sendWithFd(chan, frame, fd);
}
