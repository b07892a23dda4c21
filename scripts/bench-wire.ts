// Measures the wire codec: encode and decode throughput for bulk data frames (as the daemon pushes them,
// read back in socket-sized chunks that split frames) and the rate of small control frames.
// Usage: npx tsx scripts/bench-wire.ts [--json]
import { encodeFrameParts, encodeMessage, FrameDecoder } from '../protocol/wire-codec';
import type { WireMessage } from '../protocol/wire';
import { concatBytes } from '../protocol/bytes';
import { median } from './measure';

const json = process.argv.includes('--json');
// 1 GiB of 64 KiB data frames, decoded from 64 KiB reads (so nearly every frame is split in two).
const payload = new Uint8Array(64 * 1024).fill(7);
const frame = encodeMessage({ type: 'data', id: 1, handle: 3, data: payload });
const stream = concatBytes(Array.from({ length: 64 }, () => frame)); // 4 MiB, replayed
const totalBytes = 1024 * 1024 * 1024;
const dataMBps: number[] = [];
for (let round = 0; round < 3; round++) {
  const d = new FrameDecoder({ maxPayload: 1024 * 1024 });
  let got = 0;
  const t0 = performance.now();
  for (let sent = 0; sent < totalBytes; sent += stream.length)
    for (let i = 0; i < stream.length; i += 65536) {
      const r = d.push(stream.subarray(i, i + 65536));
      for (const m of r.messages) if (m.type === 'data') got += m.data.length;
    }
  dataMBps.push(got / 1e6 / ((performance.now() - t0) / 1000));
}

// Encoding data frames as parts (header + uncopied data), as the daemon writes them with writev: the cost
// is per frame, not per byte.
const encodeRates: number[] = [];
for (let round = 0; round < 3; round++) {
  const frames = 1_000_000;
  let parts = 0;
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) parts += encodeFrameParts({ type: 'data', id: i, handle: 3, data: payload }).length;
  if (parts !== 2 * frames) throw new Error('unexpected parts');
  encodeRates.push(frames / ((performance.now() - t0) / 1000));
}

// Small frames: credit/ok/send-1-byte interleaved, joined in 64 KiB chunks.
const small: WireMessage[] = [
  { type: 'credit', id: 0, handle: 3, bytes: 65536 },
  { type: 'ok', id: 9, handle: 3, value: 1 },
  { type: 'send', id: 10, handle: 3, noReply: true, data: Uint8Array.of(1) },
];
const smallStream = concatBytes(Array.from({ length: 65536 / 16 }, (_, i) => encodeMessage(small[i % 3] as WireMessage)));
const smallRates: number[] = [];
for (let round = 0; round < 3; round++) {
  const d = new FrameDecoder();
  let frames = 0;
  const t0 = performance.now();
  for (let k = 0; k < 200; k++) frames += d.push(smallStream).messages.length;
  smallRates.push(frames / ((performance.now() - t0) / 1000));
}

const result = {
  decode_data_mb_per_s: Math.round(median(dataMBps)),
  encode_parts_frames_per_s: Math.round(median(encodeRates)),
  decode_small_frames_per_s: Math.round(median(smallRates)),
};
if (json) console.log(JSON.stringify(result));
else {
  console.log('wire codec (medians of 3):');
  console.log(`  decode 64 KiB data frames from 64 KiB reads  ${result.decode_data_mb_per_s} MB/s`);
  console.log(`  encode data frames as parts (writev)         ${result.encode_parts_frames_per_s} frames/s`);
  console.log(`  decode small frames (credit/ok/1-byte send)  ${result.decode_small_frames_per_s} frames/s`);
}
