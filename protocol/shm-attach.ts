// The side connection of the shared-memory channel: after a helloOk that granted Capability.shm, the
// guest connects to the daemon's side socket (its guest socket's path + SHM_SIDE_SUFFIX) and sends one
// message naming its session, with the region's memfd and the daemon's end of the doorbell attached
// (SCM_RIGHTS). Byte layout in README.md.
import { readUtf8, utf8Length, writeUtf8 } from './utf8';

/** 'LSHA', big-endian, the first word of the attach message. */
export const SHM_ATTACH_MAGIC = 0x4c534841;
export const SHM_ATTACH_VERSION = 1;
/** The side socket sits beside the guest socket: `<guest socket>.shm`. */
export const SHM_SIDE_SUFFIX = '.shm';
/** Descriptors the attach message carries, in order: the region (memfd), the daemon's doorbell. */
export const SHM_ATTACH_FDS = 2;

export function sideSocketPath(guestSocket: string): string {
  return guestSocket + SHM_SIDE_SUFFIX;
}

/** magic u32 · version u8 · guest name (u8 n + n bytes UTF-8, 1..255). */
export function encodeAttach(guest: string): Uint8Array {
  const n = utf8Length(guest);
  if (n < 1 || n > 255) throw new RangeError(`guest name of ${n} bytes (or not well-formed): expected 1..255`);
  const out = new Uint8Array(6 + n);
  new DataView(out.buffer).setUint32(0, SHM_ATTACH_MAGIC);
  out[4] = SHM_ATTACH_VERSION;
  out[5] = n;
  writeUtf8(guest, out, 6);
  return out;
}

/** The guest name of an attach message, or a string saying why it is not one. */
export function decodeAttach(message: Uint8Array): { guest: string } | string {
  if (message.length < 7) return `attach message of ${message.length} bytes is too short`;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (view.getUint32(0) !== SHM_ATTACH_MAGIC) return 'not an attach message (bad magic)';
  if (message[4] !== SHM_ATTACH_VERSION) return `attach version ${message[4]}: expected ${SHM_ATTACH_VERSION}`;
  const n = message[5] as number;
  if (n === 0 || message.length !== 6 + n) return `attach message of ${message.length} bytes for a name of ${n}`;
  const guest = readUtf8(message, 6, message.length);
  return guest === null ? 'guest name is not valid UTF-8' : { guest };
}
