// How deep a guest channel's kernel send buffer is on the daemon's end (the direction of pushed data);
// native/socket-buffer.ts sets it.

import type { Socket } from 'node:net';
import { setSendBuffer } from '../../native/socket-buffer';

export { sendBufferProblem } from '../../native/socket-buffer';

/** Two 64 KiB frames fit the default (wmem_default, 208 KiB); this keeps a bulk push from stalling per frame. */
export const CHANNEL_SEND_BUFFER_BYTES = 2 * 1024 * 1024;

/** Sets the accepted channel's send buffer; returns the size granted, or why not. */
export function deepenSendBuffer(socket: Socket): number | string {
  return setSendBuffer(socket, CHANNEL_SEND_BUFFER_BYTES);
}
