// A trace hub and server in their own process, for measuring the daemon side's memory from outside:
// prints {"url","tokenFile"} once listening, then for each stdin line "publish N" publishes N synthetic
// calls (yielding to the event loop between slices, as real producers do) and prints a JSON line with
// the hub's stats and the process's memory.
import { createInterface } from 'node:readline';
import { TraceHub } from '../../daemon/trace/trace-hub';
import { startTraceServer } from '../../daemon/trace/trace-server';
import { syntheticStream } from '../fixtures/synthetic';

const ringSize = Number(process.env.RING_SIZE ?? 1_048_576);
const tokenFile = process.env.TOKEN_FILE as string;
const hub = new TraceHub({ ringSize });
async function main(): Promise<void> {
  const server = await startTraceServer({ port: 0, tokenFile, hub });
  console.log(JSON.stringify({ url: server.url, tokenFile: server.tokenFile }));

  let seed = 1;
  const report = (): void => {
    const m = process.memoryUsage();
    console.log(JSON.stringify({ stats: hub.stats(), rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external }));
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'publish') {
      let left = Number(arg);
      const gen = syntheticStream(left, { seed: seed++ });
      while (left > 0) {
        for (let i = 0; i < 10_000 && left > 0; i++, left--) {
          const r = gen.next();
          if (r.done) break;
          hub.publish(r.value);
          if (r.value.kind === 'frame') left++;
        }
        await new Promise((r) => setImmediate(r));
      }
      hub.flush();
      report();
    } else if (cmd === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      report();
    } else if (cmd === 'quit') break;
  }
  await server.close();
  hub.close();
}

void main();
