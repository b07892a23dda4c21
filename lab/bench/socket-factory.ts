// The one thing that differs between paths: where a workload gets its sockets. `direct` uses node:net
// and node:dgram on the host; `delegated` uses the guest runtime over a channel to linsockd. The
// workload code never knows which it has.

import * as net from 'node:net';
import * as dgram from 'node:dgram';
import type { Duplex } from 'node:stream';
import { connect, createChannel, createSocket, type Channel } from '../../guest';

export type StreamSocket = Duplex & { setNoDelay(noDelay?: boolean): unknown };

export interface DatagramSocket {
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  bind(port: number, address: string, cb: () => void): unknown;
  send(msg: Buffer, port: number, address: string): void;
  close(cb?: () => void): unknown;
}

export interface SocketFactory {
  readonly path: string;
  /** Resolves once connected; rejects with the connect error. */
  connect(port: number, host: string): Promise<StreamSocket>;
  udp(family: 4 | 6): DatagramSocket;
  close(): Promise<void>;
  /** What a reader of the result should know about how this path was set up. */
  readonly notes?: readonly string[];
  /** Delegated: what carries the guest's frames (shared memory, or the socket when it was refused or not asked for). */
  readonly channel?: 'shm' | 'socket';
  /** Pauses or resumes the guest's trace stamps (delegated, when the daemon accepted them; `--trace alternate`). */
  setTracing?(on: boolean): void;
}

function connected<S extends StreamSocket>(s: S): Promise<S> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

export function directFactory(): SocketFactory {
  return {
    path: 'direct',
    connect: (port, host) => connected(net.connect({ port, host, noDelay: true })),
    udp: (family) => dgram.createSocket(family === 6 ? 'udp6' : 'udp4'),
    close: async () => undefined,
  };
}

export async function delegatedFactory(channelPath: string, guest: string, trace: boolean, transport?: 'shm' | 'socket'): Promise<SocketFactory> {
  const channel: Channel = createChannel({ path: channelPath }, { guest, trace, channel: transport });
  await channel.ready;
  const notes: string[] = [];
  if (typeof channel.sendBuffer === 'string') notes.push(`the guest channel kept the kernel's default send buffer (${channel.sendBuffer}): bulk transfers run slower`);
  if (transport !== 'socket' && channel.kind !== 'shm') notes.push(`the guest channel is the socket, not shared memory${channel.shmProblem ? `: ${channel.shmProblem}` : ' (not granted)'}`);
  return {
    path: 'delegated',
    channel: channel.kind,
    connect: (port, host) => connected(connect({ channel, port, host, noDelay: true })),
    udp: (family) => createSocket({ type: family === 6 ? 'udp6' : 'udp4', channel }),
    close: () => channel.close('workload finished'),
    setTracing: channel.tracing ? (on) => channel.setTracing(on) : undefined,
    notes,
  };
}
