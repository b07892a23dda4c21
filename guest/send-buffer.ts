// Deepens the channel socket's kernel send buffer with the linsock_sockbuf addon (lab/native/socket-buffer.c,
// built by `npm install`). A Unix socket's default buffer holds about two 64 KiB frames, so a bulk sender
// blocks and the daemon wakes per frame; with 2 MiB both keep running. Without the addon the channel works
// at the default depth, and says so where the guest reports its channel.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

export const CHANNEL_SEND_BUFFER_BYTES = 2 * 1024 * 1024;

/** setSendBuffer returns the granted size, or -errno. */
type SockbufAddon = { setSendBuffer(fd: number, bytes: number): number };
let addon: SockbufAddon | string | null = null;

function load(): SockbufAddon | string {
  const file = join('build', 'Release', 'linsock_sockbuf.node');
  for (let dir = __dirname, i = 0; i < 6; i++, dir = dirname(dir)) {
    if (!existsSync(join(dir, file))) continue;
    const mod = { exports: {} as SockbufAddon };
    try {
      process.dlopen(mod, join(dir, file));
      return mod.exports;
    } catch (e) {
      return `${file} did not load: ${(e as Error).message}`;
    }
  }
  return `${file} is not built (npm install builds it)`;
}

/** The send buffer the kernel granted the connected socket, or why it keeps its default. */
export function deepenSendBuffer(socket: Socket): number | string {
  addon ??= load();
  if (typeof addon === 'string') return addon;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 'the socket has no file descriptor';
  const granted = addon.setSendBuffer(fd, CHANNEL_SEND_BUFFER_BYTES);
  return granted > 0 ? granted : `setsockopt(SO_SNDBUF) failed: ${getSystemErrorName(granted)}`;
}
