// The userspace device model: a relay and learning switch between TAP ports (the host side's and each
// emulated guest's), in the shape of QEMU's emulated NIC with a TAP backend. It runs in the process that
// creates it (the bench), on its event loop. With a sink every frame it handles becomes a FrameRecord:
// delivered ones, and the ones it drops, with the cause — so that the frames recorded add up to its
// counters (framesHandled()).

import { constants } from 'node:os';
import type { FrameDirection, FrameDropCause, FrameRecord, TraceRecord } from '../../protocol';
import { contentOf, emptyFrameInfo, flowOf, inspectFrame, tcpSeqOf, VNET_HDR_LEN, type FrameInfo } from './frame';
import { LearningSwitch } from './learning-switch';
import type { NicProfile } from './nic-mode';
import type { DevicePort } from './tap-port';

/** What the device model needs of a trace sink (daemon/trace-sink.ts's TraceSink fits it). */
export interface FrameSink {
  readonly enabled: boolean;
  /**
   * `tcpSeq`: for a frame with a TCP header, its sequence number (where its payload sits in the stream,
   * which the frame linking needs to place retransmissions); not part of the record.
   */
  publish(record: TraceRecord, tcpSeq?: number): void;
}

export interface DeviceCounters {
  framesIn: number;
  bytesIn: number;
  /** Frames written to a port (a flooded frame counts once per port it reached). */
  framesOut: number;
  bytesOut: number;
  /** Frames whose headers contradict their size: counted and dropped. */
  garbage: number;
  /** Frames sent to every other port (group address or unknown destination). */
  flooded: number;
  /** Frames a full TAP queue refused (EAGAIN). */
  queueDrops: number;
  /** Frames a TAP refused outright (EINVAL, EIO, EMSGSIZE). */
  refusedDrops: number;
  /** Frames addressed back to the port they came from. */
  hairpinDrops: number;
  /** Frames to flood with no other port attached. */
  noPortDrops: number;
}

/** Every frame the model handled, one per port it was written to or dropped at: what a sink receives. */
export function framesHandled(c: DeviceCounters): number {
  return c.framesOut + c.garbage + c.queueDrops + c.refusedDrops + c.hairpinDrops + c.noPortDrops;
}

/** Why the last garbage frames were dropped, newest last; bounded. */
const GARBAGE_REASONS_KEPT = 8;
const { EAGAIN } = constants.errno;
/** A port left an entry unset: it reports only how many frames it wrote, a prefix of those it was given. */
const UNSET = -1;

interface Pending {
  frames: Buffer[];
  records: FrameRecord[];
  /** Each record's TCP sequence number, NO_SEQ without one. */
  seqs: number[];
}

const NO_SEQ = -1;

export class DeviceModel {
  readonly counters: DeviceCounters = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, garbage: 0, flooded: 0, queueDrops: 0, refusedDrops: 0, hairpinDrops: 0, noPortDrops: 0 };
  readonly garbageReasons: string[] = [];
  private readonly ports: DevicePort[] = [];
  private readonly macs = new LearningSwitch<DevicePort>();
  private readonly hdr: number;
  private readonly pending = new Map<DevicePort, Pending>();
  /** Reused for every frame: the hot path allocates nothing per frame unless it records. */
  private readonly info: FrameInfo = emptyFrameInfo();
  private readonly one: Buffer[] = [];
  private readonly oneSeq: number[] = [NO_SEQ];
  /** Each written frame's fate from the port (0 or the errno that dropped it); grows to the largest batch. */
  private errnos = new Int32Array(256);

  constructor(
    readonly profile: NicProfile,
    private readonly run: string,
    private readonly sink: FrameSink | null = null,
    /** Called when a port's device fails (errno from read); the port no longer delivers frames. */
    private readonly onPortError: (port: DevicePort, errno: number) => void = () => undefined,
  ) {
    this.hdr = profile.vnetHdr ? VNET_HDR_LEN : 0;
  }

  attach(port: DevicePort & { start?(cb: (frames: Buffer[], tIn: Float64Array, errno: number) => void): void }): void {
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

  /**
   * Moves frames that arrived on `from` to their ports; frames[i] was read at tIn[i] (host monotonic ns,
   * one reading per frame). Never throws on frame content.
   */
  ingest(from: DevicePort, frames: readonly Buffer[], tIn: ArrayLike<number>): void {
    if (tIn.length < frames.length) throw new RangeError(`${frames.length} frames with ${tIn.length} arrival times`);
    const tracing = this.sink?.enabled === true;
    const f = this.info;
    for (let i = 0; i < frames.length; i++) {
      const buf = frames[i]!;
      const t = tIn[i]!;
      this.counters.framesIn++;
      this.counters.bytesIn += buf.length;
      const garbage = inspectFrame(buf, this.hdr, this.profile.maxFrame, f);
      if (garbage !== null) {
        this.counters.garbage++;
        this.garbageReasons.push(garbage);
        if (this.garbageReasons.length > GARBAGE_REASONS_KEPT) this.garbageReasons.shift();
        if (tracing) this.dropGarbage(from, buf, t);
        continue;
      }
      this.macs.learn(f.src, from);
      const to = f.group ? undefined : this.macs.lookup(f.dst);
      if (to === from) {
        this.counters.hairpinDrops++;
        if (tracing) this.publishDropped(this.record(from, to, buf, f, t), 'hairpin', tcpSeqOf(buf, f));
        continue;
      }
      if (to) this.deliver(from, to, buf, f, t, tracing);
      else {
        this.counters.flooded++;
        let reached = 0;
        for (const p of this.ports) {
          if (p === from) continue;
          reached++;
          this.deliver(from, p, buf, f, t, tracing);
        }
        if (reached === 0) {
          this.counters.noPortDrops++;
          if (tracing) this.publishDropped(this.record(from, null, buf, f, t), 'no-port', tcpSeqOf(buf, f));
        }
      }
    }
    if (this.profile.batching) this.flush();
  }

  private deliver(from: DevicePort, to: DevicePort, buf: Buffer, f: FrameInfo, tIn: number, tracing: boolean): void {
    const record = tracing ? this.record(from, to, buf, f, tIn) : null;
    const seq = record ? (tcpSeqOf(buf, f) ?? NO_SEQ) : NO_SEQ;
    if (this.profile.batching) {
      let p = this.pending.get(to);
      if (!p) this.pending.set(to, (p = { frames: [], records: [], seqs: [] }));
      p.frames.push(buf);
      if (record) {
        p.records.push(record);
        p.seqs.push(seq);
      }
      return;
    }
    this.one[0] = buf;
    this.oneSeq[0] = seq;
    this.write(to, this.one, record ? [record] : null, this.oneSeq);
  }

  private flush(): void {
    for (const [port, p] of this.pending) {
      if (p.frames.length === 0) continue;
      this.write(port, p.frames, p.records.length ? p.records : null, p.seqs);
      p.frames.length = 0;
      p.records.length = 0;
      p.seqs.length = 0;
    }
  }

  /** Writes `frames` to `port`, counts each frame's fate, and publishes `records` (one per frame, with `seqs`) with it. */
  private write(port: DevicePort, frames: readonly Buffer[], records: FrameRecord[] | null, seqs: readonly number[]): void {
    if (this.errnos.length < frames.length) this.errnos = new Int32Array(frames.length);
    const errnos = this.errnos;
    errnos.fill(UNSET, 0, frames.length);
    const written = port.writeFrames(frames, errnos);
    const tOut = records ? Number(process.hrtime.bigint()) : 0;
    for (let i = 0; i < frames.length; i++) {
      let e = errnos[i]!;
      if (e === UNSET) e = i < written ? 0 : EAGAIN;
      if (e === 0) {
        this.counters.framesOut++;
        this.counters.bytesOut += frames[i]!.length;
      } else if (e === EAGAIN) this.counters.queueDrops++;
      else this.counters.refusedDrops++;
      if (!records) continue;
      const r = records[i]!;
      r.tOut = Math.max(tOut, r.tIn);
      if (e !== 0) r.dropped = e === EAGAIN ? 'queue-full' : 'refused';
      const seq = seqs[i]!;
      this.sink!.publish(r, seq === NO_SEQ ? undefined : seq);
    }
  }

  private record(from: DevicePort, to: DevicePort | null, buf: Buffer, f: FrameInfo, tIn: number): FrameRecord {
    const guest = from.guest ?? to?.guest ?? '';
    return { kind: 'frame', seq: 0, run: this.run, guest, direction: directionOf(from, to), length: f.length, payload: f.payload, flow: flowOf(buf, f), tIn, tOut: tIn, content: contentOf(f) };
  }

  private dropGarbage(from: DevicePort, buf: Buffer, tIn: number): void {
    const length = Math.max(0, buf.length - this.hdr);
    this.publishDropped({ kind: 'frame', seq: 0, run: this.run, guest: from.guest ?? '', direction: directionOf(from, null), length, payload: 0, flow: null, tIn, tOut: tIn, content: 'other' }, 'garbage');
  }

  private publishDropped(r: FrameRecord, cause: FrameDropCause, tcpSeq?: number): void {
    r.dropped = cause;
    r.tOut = Math.max(Number(process.hrtime.bigint()), r.tIn);
    this.sink!.publish(r, tcpSeq);
  }
}

/** From the host's port is host-to-guest; to it (or to no known port, from a guest) guest-to-host. */
function directionOf(from: DevicePort, to: DevicePort | null): FrameDirection {
  if (from.guest === null) return 'host-to-guest';
  return to && to.guest !== null ? 'guest-to-guest' : 'guest-to-host';
}
