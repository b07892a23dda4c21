// `npm run bench:relay`: the raw emulated path, without delegation or the bench's workloads — a TCP stream
// and 1-byte round trips from a guest to a host server across guest TAP -> device model -> host TAP, and
// a stream between two guests across the device model's switch, in both NIC modes, medians of --runs.
// Prints one JSON object per mode with MTU and offloads beside the figures. The timed streams carry no
// checksum (like iperf); one more stream per mode, checked with crc32 at both ends, gives `verified`.
// Flags: --mb N (stream size, default 256), --rr N (round trips, default 2000), --mtu N, --runs N (3),
// --trace (the device model builds a frame record per frame into a counting sink: the cost of tracing).

import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { LabRun, type Guest } from '../netns';
import { NIC_MODES } from '../device-model/nic-mode';
import { startEmulatedPath } from './emulated-path';
import type { FrameSink } from '../device-model/device-model';

const PROBES = join(__dirname, 'probes');

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** Resolves with the first stdout line of `child` that `until` accepts; stdout stays open for later waits. */
function lineOf(child: ChildProcess, until: (line: string) => boolean): Promise<string> {
  const lines = ((child as ChildProcess & { lines?: Interface }).lines ??= createInterface({ input: child.stdout! }));
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      if (!until(line)) return;
      lines.off('line', onLine);
      child.off('exit', onExit);
      resolve(line);
    };
    const onExit = (): void => reject(new Error(`${child.spawnargs.join(' ')} ended without the expected output`));
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

const isJson = (l: string): boolean => l.startsWith('{');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const mb = flag('mb', 256);
  const rr = flag('rr', 2000);
  const runs = flag('runs', 3);
  const mtu = process.argv.includes('--mtu') ? flag('mtu', 1500) : undefined;
  let records = 0;
  const sink: FrameSink | null = process.argv.includes('--trace') ? { enabled: true, publish: () => void records++ } : null;
  const run = await LabRun.create();
  const piped = { stdio: ['ignore', 'pipe', 'inherit'] as ['ignore', 'pipe', 'inherit'] };
  try {
    for (const mode of NIC_MODES) {
      records = 0;
      const path = await startEmulatedPath(run, { mode, mtu, role: mode, sink });
      const peer = await path.addGuest(`${mode}b`);
      const probe = (where: Guest | null, script: string, args: (string | number)[]): ChildProcess => {
        const argv = [join(PROBES, script), ...args.map(String)];
        return where ? run.spawn(where, process.execPath, argv, piped) : run.spawnHost(process.execPath, argv, piped);
      };
      const raw = probe(null, 'probe-server.mjs', ['sink', path.hostAddress, 5201, 'none']);
      const echo = probe(null, 'probe-server.mjs', ['echo', path.hostAddress, 5202]);
      const checked = probe(null, 'probe-server.mjs', ['sink', path.hostAddress, 5203, 'crc32']);
      const peerSink = probe(peer.guest, 'probe-server.mjs', ['sink', peer.address, 5204, 'none']);
      await Promise.all([raw, echo, checked, peerSink].map((s) => lineOf(s, (l) => l === 'listening')));

      /** One stream from the first guest to `sink`; MB/s, whether it arrived intact, and this process's CPU share. */
      const stream = async (sink: ChildProcess, host: string, port: number, digest: string): Promise<{ mbps: number; intact: boolean; cpu: number }> => {
        const received = lineOf(sink, isJson);
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const sender = probe(path.guest, 'stream-send.mjs', [host, port, mb * 1024 * 1024, digest]);
        const sent = JSON.parse(await lineOf(sender, isJson)) as { bytes: number; digest: string; ms: number };
        const got = JSON.parse(await received) as { bytes: number; digest: string };
        const used = process.cpuUsage(cpu0);
        const cpu = ((used.user + used.system) * 1000) / Number(process.hrtime.bigint() - t0);
        return { mbps: sent.bytes / 1e6 / (sent.ms / 1000), intact: got.bytes === sent.bytes && got.digest === sent.digest, cpu };
      };

      const mbps: number[] = [];
      const interGuest: number[] = [];
      const p50: number[] = [];
      const relayCpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        const s = await stream(raw, path.hostAddress, 5201, 'none');
        if (!s.intact) throw new Error(`${mode}: the stream to the host lost bytes`);
        mbps.push(s.mbps);
        relayCpu.push(s.cpu);
        const g = await stream(peerSink, peer.address, 5204, 'none');
        if (!g.intact) throw new Error(`${mode}: the stream between guests lost bytes`);
        interGuest.push(g.mbps);
        const pinger = probe(path.guest, 'rr-ping.mjs', [path.hostAddress, 5202, rr]);
        p50.push((JSON.parse(await lineOf(pinger, isJson)) as { p50_us: number }).p50_us);
        await once(pinger, 'exit').catch(() => undefined);
      }
      const check = await stream(checked, path.hostAddress, 5203, 'crc32');
      const { profile, relay } = path;
      console.log(
        JSON.stringify({
          mode,
          mtu: profile.mtu,
          offloads: profile.offloads,
          stream_mb_per_s: r1(median(mbps)),
          inter_guest_mb_per_s: r1(median(interGuest)),
          rr_p50_us: r1(median(p50)),
          runs: { stream: mbps.map(Math.round), inter_guest: interGuest.map(Math.round), rr_p50_us: p50.map(Math.round) },
          /** Share of one core the device model (this process) used during the host streams. */
          relay_cpu: Math.round(median(relayCpu) * 100) / 100,
          crc32_stream_mb_per_s: r1(check.mbps),
          verified: check.intact,
          frame_records: sink ? records : null,
          counters: relay.counters,
        }),
      );
      for (const s of [raw, echo, checked, peerSink]) s.kill();
      await path.close();
    }
  } finally {
    await run.teardown();
  }
}

main().catch((e: Error) => {
  console.error(`bench:relay: ${e.message}`);
  process.exitCode = 1;
});
