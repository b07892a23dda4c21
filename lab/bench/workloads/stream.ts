// stream: bulk transfer in 64 KiB writes to the sink for the given time; every byte is checksummed
// (CRC-32) on both ends, and the run is verified when the sink counted the same bytes and checksum.

import { crc32 } from 'node:zlib';
import type { SocketFactory } from '../socket-factory';
import { nowNs } from '../latency';
import { mbPerS, round } from '../figures';
import type { WorkloadResult, WorkloadTarget } from '../workload-result';
import { PhaseCounter } from '../trace-phases';

export const STREAM_WRITE_BYTES = 64 * 1024;
const BLOCKS = 16;

/** Distinct pseudo-random blocks (xorshift32), so that lost, duplicated or reordered blocks change the sum. */
function makeBlocks(): Buffer[] {
  let x = 0x9e3779b9;
  const blocks: Buffer[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const buf = Buffer.allocUnsafe(STREAM_WRITE_BYTES);
    for (let i = 0; i < buf.length; i += 4) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      buf.writeUInt32LE(x >>> 0, i);
    }
    blocks.push(buf);
  }
  return blocks;
}

export async function runStream(f: SocketFactory, t: WorkloadTarget): Promise<Omit<WorkloadResult, 'ranIn'>> {
  const blocks = makeBlocks();
  const sock = await f.connect(t.port, t.host);
  let reply = '';
  const report = new Promise<{ bytes: number; crc32: number }>((resolve, reject) => {
    sock.on('data', (d: Buffer) => { reply += d.toString('latin1'); });
    sock.on('end', () => {
      try {
        resolve(JSON.parse(reply) as { bytes: number; crc32: number });
      } catch {
        reject(new Error(`the sink answered ${JSON.stringify(reply.slice(0, 80))}, not its report`));
      }
    });
    sock.on('error', reject);
  });
  let sent = 0;
  let sum = 0;
  let calls = 0;
  const phases = t.phases ? new PhaseCounter(t.phases) : null;
  const t0 = nowNs();
  const deadline = t0 + t.seconds * 1e9;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      for (let now = nowNs(); now < deadline; now = nowNs()) {
        phases?.add(now, STREAM_WRITE_BYTES);
        const block = blocks[calls % BLOCKS] as Buffer;
        sum = crc32(block, sum);
        sent += block.length;
        calls++;
        if (!sock.write(block)) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
      resolve();
    };
    pump();
  });
  const got = await report;
  const elapsed = nowNs() - t0;
  sock.destroy();
  const verified = got.bytes === sent && got.crc32 === sum;
  return {
    path: f.path,
    mb_per_s: round(mbPerS(sent, elapsed)),
    p50_us: null,
    p99_us: null,
    ops_per_s: null,
    calls,
    bytes: sent,
    verified,
    notes: verified ? [] : [`sent ${sent} bytes crc32 ${sum}, the sink counted ${got.bytes} bytes crc32 ${got.crc32}`],
    ...(phases ? { phases: phases.phases(t0, deadline) } : {}),
  };
}
