// The byte pipe under a channel: a Unix socket path, a TCP host:port, or a character device (a
// virtio-serial port inside a real VM). The channel sees only whole batches of frame parts going out and
// arbitrary chunks coming in.

import * as net from 'node:net';
import * as fs from 'node:fs';
import { Capability } from '../protocol';
import { deepenSendBuffer } from './send-buffer';
import { ShmLink, wantedChannel, type ChannelKind } from './shm-link';
import { devicePollProblem, PolledDevice } from '../native/device-poll';

export type ChannelTarget = { path: string } | { host: string; port: number } | { device: string };

export interface ChannelTransport {
  /** What the channel is connected to, for error messages ("/run/linsock/guest.sock", "10.0.0.1:7718"). */
  readonly description: string;
  /** Resolves once bytes can flow; rejects with why the transport could not open. */
  readonly opened: Promise<void>;
  /** Writes one batch of frame parts in order, as one writev where the transport allows. */
  write(parts: readonly Uint8Array[]): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Bytes written here that the kernel has not taken yet. */
  queued(): number;
  /** Once opened: the kernel send buffer in bytes, or why it kept the kernel's default; null for a device. */
  sendBuffer(): number | string | null;
  /** Called each time everything queued has gone to the kernel. */
  onDrain(listener: () => void): void;
  /** Called once, when the pipe is gone, with why (null: closed in an orderly way). */
  onClose(listener: (error: Error | null) => void): void;
  /** Whether an open transport keeps the process alive; the channel keeps it only while sockets are open. */
  setRef(ref: boolean): void;
  /** Flushes what was written and closes. */
  end(): void;
  destroy(): void;
  /** Capability.shm when this transport offers to move to shared memory after HELLO, else 0. */
  shmOffer(): number;
  /**
   * Moves frames to shared memory after a helloOk that granted Capability.shm. Returns why not (frames
   * then stay on the byte pipe, which the daemon keeps reading), or null.
   */
  startShm(guest: string): string | null;
  /** What carries frames now. */
  kind(): ChannelKind;
}

export function describeTarget(target: ChannelTarget): string {
  if ('path' in target) return target.path;
  if ('device' in target) return target.device;
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** `channel`: what to ask for (default wantedChannel()); shared memory needs a Unix socket path. */
export function openTransport(target: ChannelTarget, channel: ChannelKind = wantedChannel()): ChannelTransport {
  if ('device' in target) return openDevice(target.device);
  const socket = 'path' in target ? net.createConnection({ path: target.path }) : net.createConnection({ host: target.host, port: target.port });
  socket.setNoDelay(true);
  return socketTransport(socket, describeTarget(target), channel === 'shm' && 'path' in target ? target.path : null);
}

/** `shmPath`: the guest socket's path when shared memory is wanted (the side socket sits beside it). */
function socketTransport(socket: net.Socket, description: string, shmPath: string | null): ChannelTransport {
  let closeError: Error | null = null;
  let shm: ShmLink | null = null;
  let ended = false;
  let refd = true;
  const dataListeners: ((chunk: Buffer) => void)[] = [];
  const drainListeners: (() => void)[] = [];
  const closeListeners: ((error: Error | null) => void)[] = [];
  socket.on('data', (chunk: Buffer) => { for (const l of dataListeners) l(chunk); });
  socket.on('drain', () => { for (const l of drainListeners) l(); });
  socket.once('close', () => {
    // The daemon's last frames (an error, its goodbye) may sit in the ring: they go first.
    shm?.flushIncoming();
    shm?.stop();
    for (const l of closeListeners) l(closeError);
  });
  let sendBuffer: number | string = 'not connected yet';
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      sendBuffer = deepenSendBuffer(socket);
      resolve();
    });
    socket.once('error', reject);
  });
  opened.catch(() => undefined);
  socket.on('error', (err) => { closeError = err; });
  const endSocket = (): void => {
    if (!shm || shm.queued() === 0) socket.end();
    else ended = true; // once the ring has taken the rest (the goodbye)
  };
  return {
    description,
    opened,
    write(parts) {
      if (shm) return shm.write(parts);
      if (parts.length === 1) {
        socket.write(parts[0] as Uint8Array);
        return;
      }
      let total = 0;
      for (const p of parts) total += p.byteLength;
      if (total <= 4096) {
        // A few small frames: copying them is cheaper than a writev's bookkeeping.
        socket.write(Buffer.concat(parts as Uint8Array[], total));
        return;
      }
      // Corked writes leave as one writev: a send's header and its (uncopied) data in one system call.
      socket.cork();
      for (const p of parts) socket.write(p);
      socket.uncork();
    },
    onData(listener) { dataListeners.push(listener); },
    queued: () => socket.writableLength + (shm?.queued() ?? 0),
    sendBuffer: () => sendBuffer,
    onDrain(listener) { drainListeners.push(listener); },
    onClose(listener) { closeListeners.push(listener); },
    setRef(ref) {
      refd = ref;
      if (ref) socket.ref(); else socket.unref();
      shm?.setRef(ref);
    },
    end: endSocket,
    destroy() {
      shm?.stop();
      socket.destroy();
    },
    shmOffer: () => (shmPath ? Capability.shm : 0),
    startShm(guest) {
      if (!shmPath) return 'shared memory was not offered';
      try {
        shm = new ShmLink(shmPath, guest, {
          onData: (chunk) => { for (const l of dataListeners) l(chunk); },
          onDrain: () => {
            if (ended) socket.end();
            for (const l of drainListeners) l();
          },
          onFail: (e) => {
            closeError = new Error(`shared-memory channel failed: ${e.message}`);
            socket.destroy();
          },
        });
        shm.setRef(refd);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
    kind: () => (shm ? 'shm' : 'socket'),
  };
}

/**
 * A character device is read and written through its file descriptor (one fd both ways, as a
 * virtio-serial port is). With the linsock_devpoll addon the fd is non-blocking and watched from the
 * event loop (native/device-poll.ts): a port's read returns at most one port buffer (about a page), so a
 * thread-pool hand-off per read capped inbound bytes and lengthened every round trip. Without the addon,
 * reads block in libuv's thread pool.
 */
function openDevice(device: string): ChannelTransport {
  return devicePollProblem() === null ? polledDevice(device) : threadPoolDevice(device);
}

/** The device watched from the event loop; setRef works as a socket's. */
function polledDevice(device: string): ChannelTransport {
  let polled: PolledDevice | null = null;
  let closed = false;
  let refd = true;
  const dataListeners: ((chunk: Buffer) => void)[] = [];
  const closeListeners: ((error: Error | null) => void)[] = [];
  const drainListeners: (() => void)[] = [];
  const close = (error: Error | null): void => {
    if (closed) return;
    closed = true;
    // PolledDevice closes the fd only once libuv has let go of it: no read can be pending under it.
    polled?.close();
    for (const l of closeListeners) l(error);
  };
  const opened = new Promise<void>((resolve, reject) => {
    fs.open(device, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK, (err, fd) => {
      if (err) {
        reject(err);
        close(err);
        return;
      }
      if (closed) {
        fs.close(fd, () => undefined);
        reject(new Error(`${device} was closed while it opened`));
        return;
      }
      try {
        polled = new PolledDevice(fd, {
          onData: (chunk) => { for (const l of dataListeners) l(chunk); },
          onEnd: () => close(null),
          onError: (e) => close(e),
          onDrain: () => { for (const l of drainListeners) l(); },
        });
      } catch (e) {
        fs.close(fd, () => undefined);
        reject(e as Error);
        close(e as Error);
        return;
      }
      polled.setRef(refd);
      resolve();
    });
  });
  opened.catch(() => undefined);
  return {
    description: device,
    opened,
    write(parts) { polled?.write(parts); },
    onData(listener) { dataListeners.push(listener); },
    queued: () => polled?.queued ?? 0,
    sendBuffer: () => null,
    onDrain(listener) { drainListeners.push(listener); },
    onClose(listener) { closeListeners.push(listener); },
    setRef(ref) {
      refd = ref;
      polled?.setRef(ref);
    },
    end() {
      if (polled) polled.whenWritten(() => close(null));
      else close(null);
    },
    destroy() { close(null); },
    shmOffer: () => 0,
    startShm: () => 'a device channel cannot use shared memory',
    kind: () => 'socket',
  };
}

/**
 * The fallback without the addon: reads block in libuv's thread pool, so an open device keeps the process
 * alive until the channel is closed (setRef cannot release it).
 */
function threadPoolDevice(device: string): ChannelTransport {
  let fd = -1;
  let reader: fs.ReadStream | null = null;
  let writer: DeviceWriter | null = null;
  let closed = false;
  const dataListeners: ((chunk: Buffer) => void)[] = [];
  const closeListeners: ((error: Error | null) => void)[] = [];
  const drainListeners: (() => void)[] = [];
  const close = (error: Error | null): void => {
    if (closed) return;
    closed = true;
    // The fd is closed only when neither side has an operation on it in the thread pool, so that its
    // number is never reused under a read or write still queued there: the writer drops what it has not
    // started and waits for its write in flight; then the reader, which closes the fd, waits for its read.
    const closeFd = (): void => {
      if (reader) reader.destroy();
      else if (fd >= 0) fs.close(fd, () => undefined);
    };
    if (writer) writer.stop(closeFd);
    else closeFd();
    for (const l of closeListeners) l(error);
  };
  const opened = new Promise<void>((resolve, reject) => {
    fs.open(device, fs.constants.O_RDWR | fs.constants.O_NOCTTY, (err, opened) => {
      if (err) {
        reject(err);
        close(err);
        return;
      }
      fd = opened;
      reader = fs.createReadStream('', { fd, autoClose: true, highWaterMark: 256 * 1024 });
      writer = new DeviceWriter(fd, (e) => close(e), () => { for (const l of drainListeners) l(); });
      reader.on('data', (chunk) => { for (const l of dataListeners) l(chunk as Buffer); });
      reader.on('end', () => close(null));
      reader.on('error', (e) => close(e));
      resolve();
    });
  });
  opened.catch(() => undefined);
  return {
    description: device,
    opened,
    write(parts) { writer?.write(parts); },
    onData(listener) { dataListeners.push(listener); },
    queued: () => writer?.queued ?? 0,
    sendBuffer: () => null,
    onDrain(listener) { drainListeners.push(listener); },
    onClose(listener) { closeListeners.push(listener); },
    setRef() { /* see above: a blocking device read cannot be unref'd */ },
    end() {
      if (writer) writer.whenWritten(() => close(null));
      else close(null);
    },
    destroy() { close(null); },
    shmOffer: () => 0,
    startShm: () => 'a device channel cannot use shared memory',
    kind: () => 'socket',
  };
}

/** Writes to a device fd, one writev in the thread pool at a time, and knows when none is there. */
class DeviceWriter {
  private pending: Uint8Array[] = [];
  private bytes = 0;
  private busy = false;
  private stopped = false;
  private idle: (() => void)[] = [];

  constructor(private readonly fd: number, private readonly onError: (e: Error) => void, private readonly onDrain: () => void) {}

  /** Bytes written here that the device has not taken yet. */
  get queued(): number {
    return this.bytes;
  }

  write(parts: readonly Uint8Array[]): void {
    if (this.stopped) return;
    for (const p of parts) {
      this.pending.push(p);
      this.bytes += p.byteLength;
    }
    this.pump();
  }

  /** Calls `done` once everything written so far has reached the device (or the writer stopped). */
  whenWritten(done: () => void): void {
    if (this.bytes === 0 || this.stopped) done();
    else this.idle.push(done);
  }

  /** Drops what has not started; calls `done` once no write is in the thread pool. */
  stop(done: () => void): void {
    this.stopped = true;
    this.pending = [];
    this.bytes = 0;
    if (this.busy) this.idle.push(done);
    else done();
  }

  private pump(): void {
    if (this.busy || this.stopped || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.busy = true;
    fs.writev(this.fd, batch as Uint8Array[], (err, written) => {
      this.busy = false;
      if (this.stopped) return this.settle();
      if (err) return this.onError(err);
      this.bytes -= written;
      // A short write: what the device did not take goes first in the next one.
      let skip = written;
      const rest: Uint8Array[] = [];
      for (const p of batch) {
        if (skip >= p.byteLength) skip -= p.byteLength;
        else {
          rest.push(skip > 0 ? p.subarray(skip) : p);
          skip = 0;
        }
      }
      this.pending = [...rest, ...this.pending];
      if (this.pending.length > 0) return this.pump();
      this.onDrain();
      this.settle();
    });
  }

  private settle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const f of waiting) f();
  }
}
