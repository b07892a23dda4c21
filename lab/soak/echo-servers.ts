// The host-side servers the soak guests talk to, on 127.0.0.1: a TCP echo and a UDP echo, and a port with
// nothing listening (for ECONNREFUSED).

import { createServer, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';

export interface EchoServers {
  tcpPort: number;
  udpPort: number;
  refusedPort: number;
  close(): Promise<void>;
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
  const spare = createServer().listen(0, '127.0.0.1');
  await once(spare, 'listening');
  const refusedPort = (spare.address() as { port: number }).port;
  await new Promise((r) => spare.close(r));
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
