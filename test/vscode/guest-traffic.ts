// Delegated traffic for the VS Code tests: a guest (the real guest library over linsockd's guest socket)
// talks to an echo server on the host, so that the daemon records real calls.

import { createServer, type AddressInfo } from 'node:net';
import { createChannel, connect } from '../../guest';

/** Connects through the daemon, sends `messages` messages and reads their echoes, closes. */
export async function delegatedEcho(guestSocket: string, messages: number, guest = 'vscode-test'): Promise<void> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const channel = createChannel({ path: guestSocket }, { guest });
  try {
    await new Promise<void>((resolve, reject) => {
      const sock = connect({ channel, host: '127.0.0.1', port }, () => {
        let expected = 0;
        let got = 0;
        const payload = Buffer.alloc(512, 0x61);
        sock.on('data', (d: Buffer) => {
          got += d.length;
          if (got >= expected && expected === messages * payload.length) sock.end();
        });
        for (let i = 0; i < messages; i++) {
          sock.write(payload);
          expected += payload.length;
        }
      });
      sock.on('error', reject);
      sock.on('close', () => resolve());
      setTimeout(() => reject(new Error(`echo through linsockd did not finish within 15 s`)), 15_000).unref();
    });
  } finally {
    await channel.close();
    await new Promise((r) => server.close(r));
  }
}
