// The guest runtime: node:net / node:dgram semantics whose calls linsockd performs on host sockets.
//
//   const channel = createChannel({ path: '/run/linsock/guest.sock' }, { guest: 'vm1' });
//   const socket = connect({ channel, host: 'example.org', port: 80 });
//   http.request({ host, port, createConnection: (o) => connect({ ...o, channel }) });
//
// Without `channel` in the options, calls use the default channel: the one given to useChannel(), or one
// opened from $LINSOCK_CHANNEL (a socket path, host:port, or device:/dev/vport0p1).

import { Channel, type ChannelOptions } from './channel';
import { DelegatedSocket, type DelegatedConnectOptions, type DelegatedSocketOptions } from './delegated-socket';
import { DelegatedServer } from './delegated-server';
import { DelegatedUdpSocket, type RemoteInfo } from './delegated-udp';
import type { ChannelTarget } from './transport';
import { connectArgs } from './node-args';
import type { Endpoint } from '../protocol';

export { Channel, DelegatedSocket, DelegatedServer, DelegatedUdpSocket };
export type { ChannelOptions, ChannelTarget, DelegatedConnectOptions, DelegatedSocketOptions, RemoteInfo };
export { socketError, type SocketError } from './errors';

export function createChannel(target: ChannelTarget, options: ChannelOptions = {}): Channel {
  return new Channel(target, options);
}

let defaultChannel: Channel | null = null;

/** Makes `channel` the one used by calls that do not name theirs. */
export function useChannel(channel: Channel | null): void {
  defaultChannel = channel;
}

/** Parses $LINSOCK_CHANNEL: "device:/dev/vport0p1", "host:port", "[v6]:port", or a Unix socket path. */
export function parseChannelTarget(text: string): ChannelTarget {
  if (text.startsWith('device:')) return { device: text.slice('device:'.length) };
  const m = /^(?:\[([^\]]+)\]|([^/:]+)):(\d+)$/.exec(text);
  if (m) return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
  return { path: text };
}

function channelFor(options: { channel?: Channel } | undefined): Channel {
  if (options?.channel) return options.channel;
  if (!defaultChannel || defaultChannel.closed) {
    const env = process.env.LINSOCK_CHANNEL;
    if (!env) throw new Error('linsock: no channel to linsockd: pass { channel } (see createChannel), call useChannel(), or set LINSOCK_CHANNEL to the daemon\'s guest socket');
    defaultChannel = new Channel(parseChannelTarget(env));
  }
  return defaultChannel;
}

export type ConnectOptions = DelegatedConnectOptions & DelegatedSocketOptions & { channel?: Channel };

/** net.connect over the channel: connect(options, listener?) or connect(port, host?, listener?), as Node's. */
export function connect(options: ConnectOptions, listener?: () => void): DelegatedSocket;
export function connect(port: number | string, host?: string, listener?: () => void): DelegatedSocket;
export function connect(port: number | string, listener?: () => void): DelegatedSocket;
export function connect(...args: unknown[]): DelegatedSocket {
  const { options, listener } = connectArgs<ConnectOptions>(args);
  const socket = new DelegatedSocket(channelFor(options), options);
  return socket.connect(options, listener);
}

export const createConnection = connect;

export function createServer(options?: (DelegatedSocketOptions & { channel?: Channel }) | ((s: DelegatedSocket) => void), connectionListener?: (s: DelegatedSocket) => void): DelegatedServer {
  const o = typeof options === 'object' ? options : {};
  const listener = typeof options === 'function' ? options : connectionListener;
  return new DelegatedServer(channelFor(o), o, listener);
}

export function createSocket(type: 'udp4' | 'udp6' | { type: 'udp4' | 'udp6'; channel?: Channel }, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): DelegatedUdpSocket {
  const o = typeof type === 'string' ? { type } : type;
  return new DelegatedUdpSocket(channelFor(o), o.type === 'udp6' ? 6 : 4, listener);
}

type LookupCallback = (err: Error | null, address?: string | { address: string; family: number }[], family?: number) => void;

/**
 * dns.lookup over the channel: lookup(hostname, { family, all, channel }?, cb?). Without a callback it
 * returns a promise of the addresses.
 */
export function lookup(hostname: string, options?: number | { family?: number; all?: boolean; channel?: Channel } | LookupCallback, cb?: LookupCallback): Promise<Endpoint[]> {
  const callback = typeof options === 'function' ? options : cb;
  const o = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
  const family = o.family === 4 || o.family === 6 ? o.family : 0;
  const result = channelFor(o).lookup(hostname, family);
  if (callback) {
    result.then(
      (addrs) => {
        if (o.all) callback(null, addrs.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, addrs[0]?.address, addrs[0]?.family);
      },
      (err: Error) => callback(err),
    );
    result.catch(() => undefined);
  }
  return result;
}
