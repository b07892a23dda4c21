// The emulated path's frames in a VM, recorded where they cross the host: the host side of the TAP that
// QEMU's NIC writes to and reads from. QEMU owns the TAP's fd, so the frames are captured beside it
// (dumpcap, headers only: 128 bytes of each) and read as classic pcap from its stdout, each becoming a
// frame record of the VM's guest: guest-to-host when its source MAC is the VM's, else host-to-guest. The
// capture's clock is the host's realtime clock; records are on the trace clock (monotonic), mapped once at
// start (within a few µs), and a frame's tIn = tOut: the TAP is one point, not a device model's queue.

import { spawn, type ChildProcess } from 'node:child_process';
import type { FrameRecord } from '../../protocol';
import { parseFrame } from '../device-model/frame';
import { nowNs } from '../bench/latency';

const SNAP = 128;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
/** A frame's headers are parsed from its captured bytes, zero-padded to its length (inspectFrame checks lengths). */
const MAX_FRAME = 65_536 + 14;
const READY_MS = 15_000;
/** stop() waits for this long without a frame (at most QUIET_MAX_MS) before it stops dumpcap. */
const QUIET_MS = 400;
const QUIET_MAX_MS = 3000;

export interface TapCaptureOptions {
  tap: string;
  /** The VM NIC's MAC (aa:bb:cc:dd:ee:ff): frames from it go guest to host. */
  vmMac: string;
  guest: string;
  run: string;
  /** Where each frame goes as it is read (the run's trace log, which numbers them). */
  publish: (frame: FrameRecord) => void;
}

export interface TapCapture {
  /** Frames read so far, and those the parser refused (garbage on the wire is counted, not recorded). */
  readonly frames: number;
  readonly refused: number;
  /** Why the capture stopped recording early, if it did. */
  readonly failure: string | null;
  /** Stops dumpcap and reads what it still had; safe to call twice. */
  stop(): Promise<void>;
}

// dumpcap goes with this process, however it ends (QEMU's TAP goes too).
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

function macNumber(mac: string): number {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new Error(`not a MAC address: '${mac}'`);
  return parseInt(mac.replace(/:/g, ''), 16);
}

export async function startTapCapture(o: TapCaptureOptions): Promise<TapCapture> {
  const vm = macNumber(o.vmMac);
  // realtime ns + offset = trace clock ns
  const offset = nowNs() - Math.round((performance.timeOrigin + performance.now()) * 1e6);
  const child: ChildProcess = spawn('dumpcap', ['-i', o.tap, '-s', String(SNAP), '-P', '-q', '-w', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('close', () => live.delete(child));
  const scratch = Buffer.alloc(MAX_FRAME);
  let pending: Buffer = Buffer.alloc(0);
  let nsResolution: boolean | null = null;
  let frames = 0;
  let refused = 0;
  let failure: string | null = null;
  let lastFrameAt = Date.now();
  const onData = (d: Buffer): void => {
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    let at = 0;
    if (nsResolution === null) {
      if (pending.length < PCAP_HEADER) return;
      const magic = pending.readUInt32LE(0);
      if (magic !== MAGIC_US && magic !== MAGIC_NS) {
        // Not the format asked for: nothing of it can be trusted; the capture stops recording.
        child.stdout?.off('data', onData);
        failure = `dumpcap wrote no little-endian pcap (magic ${magic.toString(16)})`;
        return;
      }
      nsResolution = magic === MAGIC_NS;
      at = PCAP_HEADER;
    }
    while (pending.length - at >= RECORD_HEADER) {
      const incl = pending.readUInt32LE(at + 8);
      const orig = pending.readUInt32LE(at + 12);
      if (pending.length - at < RECORD_HEADER + incl) break;
      const sec = pending.readUInt32LE(at);
      const frac = pending.readUInt32LE(at + 4);
      const t = sec * 1e9 + (nsResolution ? frac : frac * 1000) + offset;
      const length = Math.min(orig, MAX_FRAME);
      pending.copy(scratch, 0, at + RECORD_HEADER, at + RECORD_HEADER + Math.min(incl, length));
      scratch.fill(0, Math.min(incl, length), length);
      at += RECORD_HEADER + incl;
      const v = parseFrame(scratch.subarray(0, length), 0, MAX_FRAME);
      if (!v.ok) {
        refused++;
        continue;
      }
      frames++;
      lastFrameAt = Date.now();
      o.publish({
        kind: 'frame', seq: 0, run: o.run, guest: o.guest,
        direction: v.frame.src === vm ? 'guest-to-host' : 'host-to-guest',
        length: orig, payload: v.frame.payload, flow: v.frame.flow, tIn: t, tOut: t, content: v.frame.content,
      });
    }
    pending = pending.subarray(at);
  };
  child.stdout?.on('data', onData);
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dumpcap did not start capturing on ${o.tap} within ${READY_MS / 1000} s: ${err.trim()}`)), READY_MS);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot run dumpcap (apt-get install tshark): ${e.message}`)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dumpcap ended (${code}) before capturing: ${err.trim()}`)); });
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
      if (/Capturing on/.test(err)) { clearTimeout(timer); resolve(); }
    });
  }).catch((e: Error) => {
    child.kill('SIGKILL');
    throw e;
  });
  let stopped: Promise<void> | null = null;
  return {
    get frames() { return frames; },
    get refused() { return refused; },
    get failure() { return failure; },
    stop: () => {
      stopped ??= (async () => {
        // The kernel hands dumpcap frames in blocks, and a block not yet handed over when dumpcap stops is
        // lost: wait until the frames have stopped coming (the traffic ended), briefly and bounded.
        const deadline = Date.now() + QUIET_MAX_MS;
        while (Date.now() - lastFrameAt < QUIET_MS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(kill);
      })();
      return stopped;
    },
  };
}
