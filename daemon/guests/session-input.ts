// How a guest's frames come in: its channel socket and, once the guest attached its region, its
// shared-memory ring (which then carries everything), each read through a frame decoder of its own into
// the session's dispatch; both paused together while the guest does not read what the daemon sends. Apart
// from the session so that what may refuse or drop a guest's region, and the order of a read (dispatch,
// flush, then the malformed frame or the pause), are in one place; the session sees decoded frames.
import type { Socket } from 'node:net';
import type { WireMessage } from '../../protocol';
import { FrameDecoder, type ProtocolError } from '../../protocol/wire-codec';
import type { BusyPoll } from '../channel/busy-poll';
import type { ChannelOut } from '../channel/channel-out';
import { HostShm } from '../channel/host-shm';
import { nowNs } from '../clock';
import type { Logger } from '../log';
import type { TraceSink } from '../trace/trace-sink';

export interface InputOptions {
  /** Largest frame payload a guest may send. */
  maxFrame: number;
  /** The only process a region is accepted from (SessionOptions.shmPeerPid). */
  shmPeerPid: number | undefined;
  out: ChannelOut;
  log: Logger;
  /** Frames are stamped with their read time only while it is on. */
  sink: TraceSink;
  busyPoll: BusyPoll;
  isClosed(): boolean;
  /** One decoded frame, read at `t` (0 when not tracing). */
  dispatch(m: WireMessage, t: number): void;
  /** A read's frames were dispatched (and its answers flushed). */
  afterRead(): void;
  malformed(error: ProtocolError): void;
  /** The ring is unusable (a head or tail out of range) and already dropped; the session ends. */
  ringFailed(e: Error): void;
  /** An exception out of a frame's handling: the session ends (GuestSession.fault). */
  fault(e: unknown, where: string): void;
}

export class SessionInput {
  /** Both sides negotiated shared memory at HELLO. */
  shmGranted = false;
  /** The shared-memory channel once the guest attached its region (the socket then carries nothing). */
  private ring: HostShm | null = null;
  private paused = false;
  /** The channel backed up while a host socket or a read asked (outputBlocked): resume all at its drain. */
  private blocked = false;

  constructor(private readonly socket: Socket, private readonly o: InputOptions) {
    // Sends in pieces: a stream's frames are larger than a read of the channel, and joining them would copy
    // every byte once more before the host socket copies it again.
    const decoder = new FrameDecoder({ maxPayload: o.maxFrame, pieces: true });
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk, decoder));
  }

  /** What carries this guest's frames: its shared-memory ring once attached, else the socket. */
  get kind(): 'shm' | 'socket' {
    return this.ring ? 'shm' : 'socket';
  }

  /** See GuestSession.attachShm; `guest` names the session in the log. */
  attach(pid: number, region: Uint8Array, bell: number, guest: string): string | null {
    if (!this.shmGranted) return 'the session did not negotiate shared memory';
    if (this.ring) return 'the session already has its shared memory';
    if (pid !== this.o.shmPeerPid) return `the region came from pid ${pid}, not from the guest's process`;
    const decoder = new FrameDecoder({ maxPayload: this.o.maxFrame, pieces: true });
    const ring = new HostShm(region, bell, {
      onChunk: (chunk) => this.onChunk(chunk, decoder),
      onDrain: () => this.o.out.ringDrained(),
      onFail: (e) => {
        this.o.out.useRing(null);
        this.ring = null;
        this.o.ringFailed(e);
      },
    });
    this.ring = ring;
    this.o.out.useRing(ring);
    this.o.log.info('guest moved to shared memory', { guest, ringBytes: ring.ringBytes });
    // Frames the guest wrote before its doorbell was watched.
    ring.serviceNow();
    return null;
  }

  /** Reads what the guest left in its ring now (before the session ends on a closed socket). */
  serviceNow(): void {
    this.ring?.serviceNow();
  }

  stop(): void {
    this.ring?.stop();
  }

  /** True while the guest's channel is backed up (SessionContext.outputBlocked). */
  outputBlocked(): boolean {
    if (this.o.out.backedUp()) {
      this.blocked = true;
      return true;
    }
    return false;
  }

  /** The channel drained: true when it had backed up, reading goes on and the host sockets may resume. */
  drained(): boolean {
    if (!this.blocked || this.o.isClosed() || this.o.out.backedUp()) return false;
    this.blocked = false;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
      this.ring?.resume();
    }
    return true;
  }

  private onChunk(chunk: Buffer, decoder: FrameDecoder): void {
    try {
      this.read(chunk, decoder);
    } catch (e) {
      this.o.fault(e, 'guest request');
    }
  }

  private read(chunk: Buffer, decoder: FrameDecoder): void {
    if (this.o.isClosed()) return;
    const now = nowNs();
    const t = this.o.sink.enabled ? now : 0;
    this.o.busyPoll.read(chunk.length, now);
    const { messages, error } = decoder.push(chunk);
    for (const m of messages) {
      if (this.o.isClosed()) break;
      this.o.dispatch(m, t);
    }
    if (this.o.isClosed()) return;
    this.o.afterRead();
    if (error) return this.o.malformed(error);
    if (!this.paused && this.outputBlocked()) {
      // The guest is not reading what we send: stop reading its requests until it does.
      this.paused = true;
      this.socket.pause();
      this.ring?.pause();
    }
  }
}
