// The passed-descriptor data plane on the daemon's side (protocol/README.md, passFd): a guest on a Unix
// socket that negotiated Capability.fdPass asks for a fresh connected TCP socket; the ok reply leaves with
// the host descriptor attached (native/fd-pass.c) and the daemon stops serving that socket's data. Policy
// was applied when the connection was made; only connected TCP sockets ever go (an unconnected or UDP
// socket could reach any address), and only before any byte moved on them.
import type { Socket } from 'node:net';
import { encodeFrameParts } from '../../protocol/wire-codec';
import type { PassFd } from '../../protocol';
import { fdPassProblem, sendWithFd } from '../../native/fd-pass';
import type { ChannelOut } from '../channel/channel-out';
import { fail, type ReplyBody } from '../sockets/host-handle';
import { TcpStream } from '../sockets/tcp-stream';
import type { HandleTable } from './handle-table';

/** Whether this daemon can offer the plane on a channel of this transport (a Unix socket only). */
export function canPassFds(transport: string): boolean {
  return transport === 'unix' && fdPassProblem() === null;
}

/**
 * Answers one passFd: null when the ok reply left with the descriptor, else the error reply to send
 * (the socket then stays on frames).
 */
export function passDescriptor(m: PassFd, channel: Socket, out: ChannelOut, sockets: HandleTable): ReplyBody | null {
  const h = sockets.get(m.handle);
  if (!(h instanceof TcpStream)) return fail('EOPNOTSUPP', 'passFd: only a connected TCP socket is passed');
  const fd = h.descriptorToPass();
  if (typeof fd === 'string') return fail('EBUSY', `passFd: ${fd}`);
  // The frame must follow everything queued before it: write the queue out, and pass only when the
  // channel's own write queue is empty (the addon writes beside libuv, which would otherwise reorder).
  out.flush();
  if (out.backlog() !== 0) return fail('EAGAIN', 'passFd: the channel is backed up');
  const frame = Buffer.concat(encodeFrameParts({ type: 'ok', id: m.id, handle: m.handle, value: 0 }));
  const n = sendWithFd(channel, frame, fd);
  if (typeof n === 'string') return fail('EOPNOTSUPP', `passFd: ${n}`);
  if (n < 0) return fail('EAGAIN', 'passFd: the channel is full');
  if (n < frame.length) channel.write(frame.subarray(n)); // the queue was empty: still in order
  h.passed();
  sockets.descriptorPassed(h);
  return null;
}
