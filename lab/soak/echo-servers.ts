// The host-side servers the soak guests talk to, on 127.0.0.1: a TCP echo and a UDP echo, and a port with
// nothing listening (for ECONNREFUSED).

import { createServer, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

export interface EchoServers {
  tcpPort: number;
  udpPort: number;
  refusedPort: number;
  close(): Promise<void>;
}

/**
 * A free port below the kernel's ephemeral range: no connection or `listen(0)` of the soak (the guests'
 * delegated servers included) can be given it later, so a connect to it stays refused.
 */
async function closedPort(): Promise<number> {
  const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const top = Math.min((lo ?? 32768) - 1, 65535);
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * Math.max(top - 20000, 1));
    const probe = createServer().listen(port, '127.0.0.1');
    const free = await new Promise<boolean>((resolve) => {
      probe.once('listening', () => resolve(true));
      probe.once('error', () => resolve(false));
    });
    if (free) {
      await new Promise((r) => probe.close(r));
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range for the refused-connection check');
}

export async function startEchoServers(): Promise<EchoServers> {
  const conns = new Set<import('node:net').Socket>();
  const tcp: Server = createServer((s) => {
    conns.add(s);
    s.on('error', () => undefined);
    s.once('close', () => conns.delete(s));
    s.pipe(s);
  });
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (m, r) => udp.send(m, r.port, r.address));
  udp.on('error', () => undefined);
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const refusedPort = await closedPort();
  return {
    tcpPort: (tcp.address() as { port: number }).port,
    udpPort: udp.address().port,
    refusedPort,
    close: async () => {
      for (const s of conns) s.destroy();
      await new Promise((r) => tcp.close(r));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}
