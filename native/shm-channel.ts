// The linsock_shm N-API addon (native/shm-channel.c) typed: the shared-memory guest channel's region
// (a sealed memfd mapped into an ArrayBuffer, no copy), its doorbells (datagram socketpairs watched from
// libuv's loop) and the side connection that passes them to the daemon (SCM_RIGHTS). The ring logic is
// protocol/shm-ring.ts; which side does what is guest/ and daemon/'s.

import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { loadAddon, type AddonSpec } from './addon';

/** An opaque watcher handle (an N-API external). */
export type DoorbellWatch = { readonly __doorbell: unique symbol };

type ShmAddon = {
  createRegion(bytes: number): [number, ArrayBuffer] | number;
  mapRegion(fd: number, maxBytes: number): ArrayBuffer | number;
  doorbellPair(): [number, number] | number;
  ring(fd: number): number;
  closeFd(fd: number): number;
  watch(fd: number, callback: (gone: boolean) => void): DoorbellWatch | number;
  unwatch(w: DoorbellWatch): void;
  refWatch(w: DoorbellWatch, ref: boolean): void;
  sendFds(path: string, message: Buffer, fds: number[]): number;
  receiveFds(fd: number): [Buffer, number[]] | number;
  isDoorbell(fd: number): number;
};

const SHM: AddonSpec = { target: 'linsock_shm', pathVariable: 'LINSOCK_SHM_ADDON' };

/** Why the shared-memory channel is unavailable here, or null. */
export function shmProblem(): string | null {
  const load = loadAddon<ShmAddon>(SHM);
  return load.ok ? null : load.reason;
}

function addon(): ShmAddon {
  const load = loadAddon<ShmAddon>(SHM);
  if (!load.ok) throw new Error(load.reason);
  return load.addon;
}

/** Thrown with the errno name of a failed system call. */
function check<T>(r: T | number, what: string): T {
  if (typeof r === 'number' && r < 0) {
    const e = new Error(`${what} failed: ${getSystemErrorName(r)}`) as NodeJS.ErrnoException;
    e.code = getSystemErrorName(r);
    throw e;
  }
  return r as T;
}

/** A fresh sealed region of `bytes`, mapped here: its fd (to pass on, then close) and its memory. */
export function createRegion(bytes: number): { fd: number; memory: Uint8Array } {
  const [fd, ab] = check(addon().createRegion(bytes), 'memfd_create');
  return { fd, memory: new Uint8Array(ab) };
}

/** Maps a region a peer passed (it must be a memfd sealed against shrinking, at most maxBytes). */
export function mapRegion(fd: number, maxBytes: number): Uint8Array {
  return new Uint8Array(check(addon().mapRegion(fd, maxBytes), 'mapping the region'));
}

/** A doorbell pair: ours to watch and the peer's to ring us with (pass it on, then close it). */
export function doorbellPair(): { mine: number; theirs: number } {
  const [mine, theirs] = check(addon().doorbellPair(), 'socketpair');
  return { mine, theirs };
}

/** Rings the doorbell `fd` (never blocks); throws when the peer's end is gone for good. */
export function ringDoorbell(fd: number): void {
  check(addon().ring(fd), 'ringing the doorbell');
}

export function closeFd(fd: number): void {
  addon().closeFd(fd);
}

/** Calls `wake` from the event loop each time `fd` rings (gone: the peer's end failed); owns fd from here. */
export function watchDoorbell(fd: number, wake: (gone: boolean) => void): DoorbellWatch {
  return check(addon().watch(fd, wake), 'watching the doorbell');
}

export function unwatchDoorbell(w: DoorbellWatch): void {
  addon().unwatch(w);
}

export function refDoorbell(w: DoorbellWatch, ref: boolean): void {
  addon().refWatch(w, ref);
}

/** Connects to the Unix socket `path` and sends `message` with `fds` attached (SCM_RIGHTS). */
export function sendFds(path: string, message: Buffer, fds: number[]): void {
  check(addon().sendFds(path, message, fds), `passing the channel to ${path}`);
}

/** One message and its descriptors from a connected Unix socket; null when nothing has arrived yet. */
export function receiveFds(fd: number): { message: Buffer; fds: number[] } | null {
  const r = addon().receiveFds(fd);
  if (r === -constants.errno.EAGAIN) return null;
  const [message, fds] = check(r, 'receiving the channel');
  return { message, fds };
}

/** True when fd is a datagram Unix socket, the only thing a doorbell may be. */
export function isDoorbell(fd: number): boolean {
  return addon().isDoorbell(fd) === 1;
}
