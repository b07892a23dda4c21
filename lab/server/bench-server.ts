// The host server every path's workload talks to: a TCP sink that checksums every byte it receives and,
// when the client shuts down its side, answers with what it counted; a TCP echo (rr, crr); a UDP echo
// (udp-rr). All bind one lab address (127.0.0.1 by default) on ephemeral ports.

import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { crc32 } from 'node:zlib';

export interface BenchServerPorts {
  host: string;
  sink: number;
  echo: number;
  udpEcho: number;
}

export interface BenchServer extends BenchServerPorts {
  close(): Promise<void>;
}

/** What the sink writes back, one JSON line, when the client ends its side. */
export interface SinkReport {
  bytes: number;
  crc32: number;
}

function listen(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

export async function startBenchServer(host = '127.0.0.1'): Promise<BenchServer> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.setNoDelay(true);
  };
  const sink = net.createServer({ allowHalfOpen: true }, (s) => {
    track(s);
    let bytes = 0;
    let sum = 0;
    s.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      sum = crc32(chunk, sum);
    });
    s.on('end', () => s.end(`${JSON.stringify({ bytes, crc32: sum } satisfies SinkReport)}\n`));
  });
  const echo = net.createServer((s) => {
    track(s);
    s.on('data', (chunk: Buffer) => s.write(chunk));
  });
  const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  const udpPort = await new Promise<number>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, host, () => resolve(udp.address().port));
  });
  const [sinkPort, echoPort] = await Promise.all([listen(sink, host), listen(echo, host)]);
  return {
    host,
    sink: sinkPort,
    echo: echoPort,
    udpEcho: udpPort,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise((r) => sink.close(r)),
        new Promise((r) => echo.close(r)),
        new Promise((r) => udp.close(() => r(undefined))),
      ]);
    },
  };
}
