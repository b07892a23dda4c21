// `linsock _server [--channel GUEST_SOCKET --guest NAME] HOST...`: the bench server as its own process
// (so that it does not share a thread with the daemon under test), serving on every HOST given. With
// --channel it listens through linsockd as guest NAME (the delegated inter-guest server). Prints its
// ports as one JSON line; runs until stdin closes or SIGTERM.

import { parseArgs } from 'node:util';
import { createChannel, createServer } from '../../guest';
import { startBenchServer, type CreateTcpServer } from '../bench/server';

export async function serverCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { channel: { type: 'string' }, guest: { type: 'string' } }, allowPositionals: true });
  let createTcp: CreateTcpServer | undefined;
  let closeChannel = async (): Promise<void> => undefined;
  if (values.channel) {
    const channel = createChannel({ path: values.channel }, { guest: values.guest ?? `bench-server-${process.pid}` });
    await channel.ready;
    createTcp = (opts, onConnection) => createServer({ channel, allowHalfOpen: opts.allowHalfOpen }, onConnection);
    closeChannel = () => channel.close('bench server finished');
  }
  const server = await startBenchServer(positionals.length ? positionals : ['127.0.0.1'], { createServer: createTcp, udp: !values.channel });
  process.stdout.write(`${JSON.stringify({ host: server.host, sink: server.sink, echo: server.echo, udpEcho: server.udpEcho, hosts: server.hosts })}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  await closeChannel();
  return 0;
}
