// How deep the channel socket's kernel send buffer is on the guest's end; native/socket-buffer.ts sets it.
// A Unix socket's default buffer holds about two 64 KiB frames, so a bulk sender blocks and the daemon
// wakes per frame; with 2 MiB both keep running. Without the addon the channel works at the default
// depth, and says so where the guest reports its channel.

import type { Socket } from 'node:net';
import { setSendBuffer } from '../native/socket-buffer';

export const CHANNEL_SEND_BUFFER_BYTES = 2 * 1024 * 1024;

/** The send buffer the kernel granted the connected socket, or why it keeps its default. */
export function deepenSendBuffer(socket: Socket): number | string {
  return setSendBuffer(socket, CHANNEL_SEND_BUFFER_BYTES);
}
