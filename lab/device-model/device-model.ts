// The userspace device model: a relay and learning switch between TAP ports (the host side's and each
// emulated guest's), in the shape of QEMU's emulated NIC with a TAP backend. It runs in the process that
// creates it (the bench), on its event loop. Each frame delivered can become a FrameRecord.

import type { FrameDirection, FrameRecord, TraceRecord } from '../../protocol';
import { emptyFrameInfo, flowOf, inspectFrame, VNET_HDR_LEN, type FrameInfo } from './frame';
import { LearningSwitch } from './learning-switch';
import type { NicProfile } from './nic-mode';
import type { DevicePort } from './tap-port';

/** What the device model needs of a trace sink (daemon/trace-sink.ts's TraceSink fits it). */
export interface FrameSink {
  readonly enabled: boolean;
  publish(record: TraceRecord): void;
}

export interface DeviceCounters {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Frames whose headers contradict their size: counted and dropped. */
  garbage: number;
  /** Frames sent to every other port (group address or unknown destination). */
  flooded: number;
  /** Frames a full TAP queue refused. */
  queueDrops: number;
  /** Frames addressed back to the port they came from. */
  hairpinDrops: number;
}

/** Why the last garbage frames were dropped, newest last; bounded. */
const GARBAGE_REASONS_KEPT = 8;

interface Pending {
  frames: Buffer[];
  records: FrameRecord[];
}

export class DeviceModel {
  readonly counters: DeviceCounters = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, garbage: 0, flooded: 0, queueDrops: 0, hairpinDrops: 0 };
  readonly garbageReasons: string[] = [];
  private readonly ports: DevicePort[] = [];
  private readonly macs = new LearningSwitch<DevicePort>();
  private readonly hdr: number;
  private readonly pending = new Map<DevicePort, Pending>();
  /** Reused for every frame: the hot path allocates nothing per frame unless it records. */
  private readonly info: FrameInfo = emptyFrameInfo();
  private readonly one: Buffer[] = [];

  constructor(
    readonly profile: NicProfile,
    private readonly run: string,
    private readonly sink: FrameSink | null = null,
    /** Called when a port's device fails (errno from read); the port no longer delivers frames. */
    private readonly onPortError: (port: DevicePort, errno: number) => void = () => undefined,
  ) {
    this.hdr = profile.vnetHdr ? VNET_HDR_LEN : 0;
  }

  attach(port: DevicePort & { start?(cb: (frames: Buffer[], tIn: number, errno: number) => void): void }): void {
    this.ports.push(port);
    port.start?.((frames, tIn, errno) => {
      if (frames.length) this.ingest(port, frames, tIn);
      if (errno) {
        this.detach(port);
        this.onPortError(port, errno);
      }
    });
  }

  detach(port: DevicePort): void {
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
    this.macs.forget(port);
    this.pending.delete(port);
  }

  /** Moves frames that arrived on `from` (read at `tIn`, host monotonic ns) to their ports. Never throws on frame content. */
  ingest(from: DevicePort, frames: readonly Buffer[], tIn: number): void {
    const tracing = this.sink?.enabled === true;
    const f = this.info;
    for (const buf of frames) {
      this.counters.framesIn++;
      this.counters.bytesIn += buf.length;
      const garbage = inspectFrame(buf, this.hdr, this.profile.maxFrame, f);
      if (garbage !== null) {
        this.counters.garbage++;
        this.garbageReasons.push(garbage);
        if (this.garbageReasons.length > GARBAGE_REASONS_KEPT) this.garbageReasons.shift();
        continue;
      }
      this.macs.learn(f.src, from);
      const to = f.group ? undefined : this.macs.lookup(f.dst);
      if (to === from) {
        this.counters.hairpinDrops++;
        continue;
      }
      if (to) this.deliver(from, to, buf, f, tIn, tracing);
      else {
        this.counters.flooded++;
        for (const p of this.ports) if (p !== from) this.deliver(from, p, buf, f, tIn, tracing);
      }
    }
    if (this.profile.batching) this.flush();
  }

  private deliver(from: DevicePort, to: DevicePort, buf: Buffer, f: FrameInfo, tIn: number, tracing: boolean): void {
    const record = tracing ? this.record(from, to, buf, f, tIn) : null;
    if (this.profile.batching) {
      let p = this.pending.get(to);
      if (!p) this.pending.set(to, (p = { frames: [], records: [] }));
      p.frames.push(buf);
      if (record) p.records.push(record);
      return;
    }
    this.one[0] = buf;
    const ok = to.writeFrames(this.one) === 1;
    this.account(ok ? 1 : 0, 1, ok ? buf.length : 0);
    if (ok && record) this.publish([record]);
  }

  private flush(): void {
    for (const [port, p] of this.pending) {
      if (p.frames.length === 0) continue;
      const written = port.writeFrames(p.frames);
      let bytes = 0;
      for (let i = 0; i < written; i++) bytes += p.frames[i]!.length;
      this.account(written, p.frames.length, bytes);
      if (p.records.length) this.publish(p.records.slice(0, written));
      p.frames.length = 0;
      p.records.length = 0;
    }
  }

  private account(written: number, tried: number, bytes: number): void {
    this.counters.framesOut += written;
    this.counters.bytesOut += bytes;
    this.counters.queueDrops += tried - written;
  }

  private record(from: DevicePort, to: DevicePort, buf: Buffer, f: FrameInfo, tIn: number): FrameRecord {
    const direction: FrameDirection = from.guest === null ? 'host-to-guest' : to.guest === null ? 'guest-to-host' : 'guest-to-guest';
    const guest = from.guest ?? to.guest ?? '';
    return { kind: 'frame', seq: 0, run: this.run, guest, direction, length: f.length, payload: f.payload, flow: flowOf(buf, f), tIn, tOut: tIn };
  }

  private publish(records: FrameRecord[]): void {
    const tOut = Number(process.hrtime.bigint());
    for (const r of records) {
      r.tOut = Math.max(tOut, r.tIn);
      this.sink!.publish(r);
    }
  }
}
