// Trace records -> pcapng for Wireshark and tshark: the emulated path's frames, one interface per TAP
// (guest) and direction, each packet at the time it entered the device model (ns, host monotonic clock),
// with a comment naming the call it served. The frames' headers are rebuilt from their records and only
// they are captured (pcapng-headers.ts). A call names its frames (call.frames) and comes after them, a
// moment later, so frames wait here a while for their call before they are written; one whose call comes
// later than that, or never, says so in its comment. Calls, runs and drop marks are not written.

import { concatBytes } from './bytes';
import { enhancedPacket, interfaceDescription, OPT, sectionHeader, textOption } from './pcapng-blocks';
import { FrameHeaders, MAX_HEADER_BYTES } from './pcapng-headers';
import type { CallRecord, FrameRecord, TraceRecord } from './trace';
import type { TraceWriter } from './trace-format';

/** Frames held for their call. The daemon's recorder links calls 150 ms after their frames; this is 1.3 s at 100,000 frames/s. */
export const FRAMES_HELD = 131_072;
/** Descriptions of calls that came before their frames, kept for frames yet to come. */
const EARLY_KEPT = 65_536;
/** if_tsresol 9: timestamps in ns. */
const NS_RESOLUTION = Uint8Array.of(9);

interface HeldFrame {
  frame: FrameRecord;
  calls: string[];
}

const frameKey = (run: string, seq: number): string => `${run}|${seq}`;

/** What a packet comment says about a call: "send seq 42 (guest-e1 socket 3, 1000 bytes)". */
export function callName(c: CallRecord): string {
  const result = c.result === 'ok' ? '' : `, ${c.result}`;
  return `${c.op} seq ${c.seq} (${c.guest} socket ${c.socket}, ${c.bytes} bytes${result})`;
}

export class PcapngTraceWriter implements TraceWriter {
  private readonly interfaces = new Map<string, number>();
  private readonly held: HeldFrame[] = [];
  private heldStart = 0;
  private readonly heldByKey = new Map<string, HeldFrame>();
  private readonly early = new Map<string, string[]>();
  private readonly headers = new FrameHeaders();
  /** Packets written so far. */
  packets = 0;

  begin(): Uint8Array {
    return sectionHeader([
      textOption(OPT.shbUserAppl, 'Linsock (linsock export --format pcapng)'),
      textOption(OPT.comment, 'Frames of the emulated path as the device model relayed them. Headers are rebuilt from the trace records (flow, direction, lengths); payloads were not recorded, so each packet captures only its headers. TCP sequence numbers count payload bytes per direction. Timestamps: host monotonic clock.'),
    ]);
  }

  write(records: readonly TraceRecord[]): Uint8Array {
    const out: Uint8Array[] = [];
    for (const r of records) {
      if (r.kind === 'frame') this.hold(r);
      else if (r.kind === 'call' && r.frames) this.link(r);
    }
    while (this.held.length - this.heldStart > FRAMES_HELD) this.release(out);
    this.compact();
    return concatBytes(out);
  }

  end(): Uint8Array {
    const out: Uint8Array[] = [];
    while (this.heldStart < this.held.length) this.release(out);
    this.compact();
    return concatBytes(out);
  }

  private hold(f: FrameRecord): void {
    const key = frameKey(f.run, f.seq);
    const h = { frame: f, calls: this.early.get(key) ?? [] };
    this.early.delete(key);
    this.held.push(h);
    this.heldByKey.set(key, h);
  }

  private link(c: CallRecord): void {
    const name = callName(c);
    for (const seq of c.frames ?? []) {
      const key = frameKey(c.run, seq);
      const h = this.heldByKey.get(key);
      if (h) h.calls.push(name);
      else {
        // Its frame is still to come (or long written: then this is forgotten in time).
        const list = this.early.get(key) ?? [];
        list.push(name);
        this.early.set(key, list);
        if (this.early.size > EARLY_KEPT) this.early.delete(this.early.keys().next().value as string);
      }
    }
  }

  private release(out: Uint8Array[]): void {
    const h = this.held[this.heldStart++] as HeldFrame;
    const f = h.frame;
    this.heldByKey.delete(frameKey(f.run, f.seq));
    const iface = this.iface(f, out);
    const rebuilt = this.headers.rebuild(f);
    const served = h.calls.length ? `served call ${h.calls.join('; ')}` : 'served no recorded call (handshake, ACK or window update, or its call was not recorded)';
    const comment = `${served}; frame seq ${f.seq}, run ${f.run}${rebuilt.note ? `; ${rebuilt.note}` : ''}`;
    // A record shorter than the headers it implies (never from the device model) keeps its length: captured <= original.
    out.push(enhancedPacket(iface, f.tIn, rebuilt.bytes.subarray(0, f.length), f.length, [textOption(OPT.comment, comment)]));
    this.packets++;
  }

  /** The interface of the frame's TAP and direction; its description block goes out before its first packet. */
  private iface(f: FrameRecord, out: Uint8Array[]): number {
    const name = `${f.guest} ${f.direction}`;
    let id = this.interfaces.get(name);
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(name, id);
      out.push(interfaceDescription(MAX_HEADER_BYTES, [
        textOption(OPT.ifName, name),
        textOption(OPT.ifDescription, `TAP of emulated guest ${f.guest}, frames ${f.direction}, as the Linsock device model relayed them`),
        { code: OPT.ifTsresol, value: NS_RESOLUTION },
      ]));
    }
    return id;
  }

  /** Drops written frames from the front of the queue once they are many (shifting one at a time is quadratic). */
  private compact(): void {
    if (this.heldStart > 4096 && this.heldStart * 2 > this.held.length) {
      this.held.splice(0, this.heldStart);
      this.heldStart = 0;
    }
  }
}

/** The whole file for `records` at once (small traces, tests). */
export function toPcapng(records: readonly TraceRecord[]): Uint8Array {
  const w = new PcapngTraceWriter();
  return concatBytes([w.begin(), w.write(records), w.end()]);
}
