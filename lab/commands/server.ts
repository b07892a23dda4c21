// `linsock _server [HOST]`: the bench server as its own process (so that it does not share a thread
// with the daemon under test). Prints its ports as one JSON line; runs until stdin closes or SIGTERM.

import { startBenchServer } from '../server';

export async function serverCommand(argv: string[]): Promise<number> {
  const server = await startBenchServer(argv[0] ?? '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ host: server.host, sink: server.sink, echo: server.echo, udpEcho: server.udpEcho })}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  return 0;
}
