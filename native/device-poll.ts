// The linsock_devpoll N-API addon (native/device-poll.c) typed: a character device (a virtio-serial port)
// watched from libuv's loop, read until EAGAIN on each readable event and written with non-blocking
// writev calls, so no byte of it crosses the thread pool. guest/transport.ts decides when to use it.

import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { loadAddon, type AddonSpec } from './addon';

/** An opaque watcher handle (an N-API external). */
export type DeviceWatch = { readonly __device: unique symbol };

/** The callback's first argument, as device-poll.c numbers it. */
const EVENT = { data: 1, end: 2, writable: 3, error: 4 } as const;

type DevicePollAddon = {
  watch(fd: number, callback: (event: number, payload: Buffer | number) => void): DeviceWatch | number;
  write(w: DeviceWatch, parts: readonly Uint8Array[]): number;
  wantWritable(w: DeviceWatch, want: boolean): void;
  unwatch(w: DeviceWatch): void;
  refWatch(w: DeviceWatch, ref: boolean): void;
};

const DEVPOLL: AddonSpec = { target: 'linsock_devpoll', pathVariable: 'LINSOCK_DEVPOLL_ADDON' };

/** Why devices fall back to thread-pool reads and writes here, or null. */
export function devicePollProblem(): string | null {
  const load = loadAddon<DevicePollAddon>(DEVPOLL);
  return load.ok ? null : load.reason;
}

function addon(): DevicePollAddon {
  const load = loadAddon<DevicePollAddon>(DEVPOLL);
  if (!load.ok) throw new Error(load.reason);
  return load.addon;
}

function errnoError(r: number, what: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(r);
  const e = new Error(`${what} failed: ${code}`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = r;
  return e;
}

export interface DeviceEvents {
  onData(chunk: Buffer): void;
  /** The device's end (read returned 0: a virtio-serial port whose host side closed). */
  onEnd(): void;
  onError(e: Error): void;
  /** Bytes that waited for room have all gone to the device. */
  onDrain(): void;
}

/**
 * A device fd in the event loop. It owns the fd: close() stops the poll and closes the fd after libuv has
 * let go of it, and nothing of it is ever in the thread pool, so its number cannot be reused under a read.
 */
export class PolledDevice {
  private readonly watch: DeviceWatch;
  private pending: Uint8Array[] = [];
  private bytes = 0;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(fd: number, private readonly events: DeviceEvents) {
    const w = addon().watch(fd, (event, payload) => this.onEvent(event, payload));
    if (typeof w === 'number') throw errnoError(w, 'watching the device');
    this.watch = w;
  }

  /** Bytes written here that the device has not taken yet. */
  get queued(): number {
    return this.bytes;
  }

  write(parts: readonly Uint8Array[]): void {
    if (this.closed) return;
    if (this.pending.length > 0) {
      // Already waiting for room: in order, behind what waits.
      for (const p of parts) this.push(p);
      return;
    }
    for (const p of parts) this.push(p);
    this.flush();
  }

  /** Calls `done` once everything written so far has reached the device (or the device closed). */
  whenWritten(done: () => void): void {
    if (this.bytes === 0 || this.closed) done();
    else this.idle.push(done);
  }

  setRef(ref: boolean): void {
    if (!this.closed) addon().refWatch(this.watch, ref);
  }

  /** Drops what has not been written and closes the fd; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.bytes = 0;
    addon().unwatch(this.watch);
    this.settle();
  }

  private push(p: Uint8Array): void {
    if (p.byteLength === 0) return;
    this.pending.push(p);
    this.bytes += p.byteLength;
  }

  /** Writes until everything went or the device is full; true when everything went. */
  private flush(): boolean {
    const a = addon();
    while (this.pending.length > 0) {
      const r = a.write(this.watch, this.pending);
      if (r === -constants.errno.EAGAIN) {
        a.wantWritable(this.watch, true);
        return false;
      }
      if (r < 0) {
        this.events.onError(errnoError(r, 'writing to the device'));
        return false;
      }
      this.consume(r);
    }
    return true;
  }

  /** Drops `written` bytes from the front: what the device did not take goes first in the next write. */
  private consume(written: number): void {
    this.bytes -= written;
    let skip = written;
    let i = 0;
    while (i < this.pending.length && skip >= (this.pending[i] as Uint8Array).byteLength) {
      skip -= (this.pending[i] as Uint8Array).byteLength;
      i++;
    }
    this.pending = this.pending.slice(i);
    if (skip > 0) this.pending[0] = (this.pending[0] as Uint8Array).subarray(skip);
  }

  private onEvent(event: number, payload: Buffer | number): void {
    if (this.closed) return;
    if (event === EVENT.data) this.events.onData(payload as Buffer);
    else if (event === EVENT.end) this.events.onEnd();
    else if (event === EVENT.error) this.events.onError(errnoError(payload as number, 'the device'));
    else if (event === EVENT.writable && this.flush() && !this.closed) {
      addon().wantWritable(this.watch, false);
      this.events.onDrain();
      this.settle();
    }
  }

  private settle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const f of waiting) f();
  }
}
