// The `linsock run` end of the interposer's trace stream (trace-only mode on the direct and emulated
// paths): a Unix socket in the run's private directory that every traced process of the program (each
// fork and exec connects anew) sends its timed calls to. Each connection's batches become call records
// (guest = the program's name and pid, one per thread: interposedGuest) handed to the run's sink; the
// batches' drop counts (the interposer's buffer was full, never blocking the program) become `dropped`
// records. A malformed stream is cut with one line, the program is not disturbed.

import { createServer, type Server, type Socket } from 'node:net';
import type { TraceSink } from '../../daemon';
import { InterposerTraceDecoder, interposedCallRecord, interposedGuest, type Path } from '../../protocol';

/** How long close() waits for processes that are still sending (a daemonised grandchild may never stop). */
const CLOSE_WAIT_MS = 2000;

export interface InterposerTraceStats {
  processes: number;
  calls: number;
  /** Records the interposer dropped because this end was behind. */
  dropped: number;
}

export class InterposerTraceServer {
  readonly stats: InterposerTraceStats = { processes: 0, calls: 0, dropped: 0 };
  private readonly open = new Set<Socket>();
  private readonly idle: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
    private readonly run: string,
    private readonly path: Path,
    private readonly sink: TraceSink,
  ) {
    server.on('connection', (s) => this.accept(s));
  }

  static listen(socketPath: string, run: string, path: Path, sink: TraceSink): Promise<InterposerTraceServer> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve(new InterposerTraceServer(server, socketPath, run, path, sink));
      });
    });
  }

  private accept(s: Socket): void {
    this.open.add(s);
    const decoder = new InterposerTraceDecoder();
    let name = '?';
    let pid = 0;
    s.on('data', (bytes: Buffer) => {
      let events;
      try {
        events = decoder.push(bytes);
      } catch (e) {
        console.error(`linsock run: the interposer's trace stream from pid ${pid || '?'} is malformed (${(e as Error).message}); its later calls are not traced`);
        s.destroy();
        return;
      }
      for (const ev of events) {
        if (ev.kind === 'hello') {
          ({ name, pid } = ev);
          this.stats.processes++;
          continue;
        }
        if (ev.dropped > 0) {
          this.stats.dropped += ev.dropped;
          this.sink.publish({ kind: 'dropped', count: ev.dropped, atNs: ev.calls[0]?.enterNs ?? Number(process.hrtime.bigint()) });
        }
        const guest = interposedGuest(name, pid, ev.tid);
        for (const c of ev.calls) this.sink.publish(interposedCallRecord(c, this.run, this.path, guest));
        this.stats.calls += ev.calls.length;
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      this.open.delete(s);
      if (this.open.size === 0) for (const f of this.idle.splice(0)) f();
    });
  }

  /** Waits (bounded) for the program's processes to finish sending, then stops listening. */
  async close(): Promise<void> {
    if (this.open.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, CLOSE_WAIT_MS);
        this.idle.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
