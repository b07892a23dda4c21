// Deepens a guest channel's kernel send buffer (the direction of pushed data) with the linsock_sockbuf
// addon (lab/native/socket-buffer.c, built by `npm install`). The guest runtime keeps its own loader: a
// guest in a VM ships without the daemon, so neither part may reach into the other for it.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** Two 64 KiB frames fit the default (wmem_default, 208 KiB); this keeps a bulk push from stalling per frame. */
export const CHANNEL_SEND_BUFFER_BYTES = 2 * 1024 * 1024;

/** setSendBuffer returns the granted size, or -errno. */
type SockbufAddon = { setSendBuffer(fd: number, bytes: number): number };
let addon: SockbufAddon | string | null = null;

function load(): SockbufAddon | string {
  const file = join('build', 'Release', 'linsock_sockbuf.node');
  let dir = __dirname;
  for (let i = 0; i < 6 && !existsSync(join(dir, file)); i++) dir = dirname(dir);
  if (!existsSync(join(dir, file))) return `${file} is not built (npm install builds it)`;
  const mod = { exports: {} as SockbufAddon };
  try {
    process.dlopen(mod, join(dir, file));
  } catch (e) {
    return `${file} did not load: ${(e as Error).message}`;
  }
  return mod.exports;
}

/** Why channels keep the kernel's default send buffer, or null when they get the deeper one. */
export function sendBufferProblem(): string | null {
  addon ??= load();
  return typeof addon === 'string' ? addon : null;
}

/** Sets the accepted channel's send buffer; returns the size granted, or why not. */
export function deepenSendBuffer(socket: Socket): number | string {
  addon ??= load();
  if (typeof addon === 'string') return addon;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 'the socket has no file descriptor';
  const granted = addon.setSendBuffer(fd, CHANNEL_SEND_BUFFER_BYTES);
  return granted > 0 ? granted : `setsockopt(SO_SNDBUF) failed: ${getSystemErrorName(granted)}`;
}
