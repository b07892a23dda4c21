// The host's end of the VM's program port: a Unix socket QEMU's chardev connects to, which opens its
// connection to linsockd only when the guest's first bytes (the interposer's HELLO) arrive, and then pipes
// both ways. Why not QEMU straight to linsockd, as the channel port does: QEMU connects at boot and again
// a second after every disconnect, while linsockd cuts a connection that has not said HELLO within 2 s;
// a program starting at a random moment (`linsock run` under TCG takes seconds) would then race that cut
// and read its "expected hello" error as the answer to its own HELLO. When linsockd ends the session, the
// gate closes QEMU's side too, so that the guest sees the port's host side go and QEMU reconnects afresh.

import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class ProgramGate {
  private current: { qemu: Socket; daemon: Socket | null } | null = null;
  /** Connections piped to linsockd so far (one per program, tests read it). */
  sessions = 0;

  private constructor(private readonly server: Server, private readonly daemonSocket: string) {}

  /** Listens on `path` (QEMU's chardev connects there) and forwards to linsockd's guest socket. */
  static async listen(path: string, daemonSocket: string): Promise<ProgramGate> {
    const server = createServer();
    const gate = new ProgramGate(server, daemonSocket);
    server.on('connection', (s) => gate.attach(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return gate;
  }

  private attach(qemu: Socket): void {
    // One port, one connection: QEMU never opens two.
    if (this.current) return void qemu.destroy();
    const link: { qemu: Socket; daemon: Socket | null } = { qemu, daemon: null };
    this.current = link;
    const end = (): void => {
      qemu.destroy();
      link.daemon?.destroy();
      if (this.current === link) this.current = null;
    };
    qemu.on('error', end);
    qemu.on('close', end);
    qemu.once('data', (first: Buffer) => {
      qemu.pause();
      const daemon = createConnection(this.daemonSocket);
      link.daemon = daemon;
      this.sessions++;
      daemon.on('error', end);
      daemon.on('close', end);
      daemon.once('connect', () => {
        daemon.write(first);
        qemu.pipe(daemon);
        daemon.pipe(qemu);
        qemu.resume();
      });
    });
  }

  close(): Promise<void> {
    this.current?.qemu.destroy();
    this.current?.daemon?.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
