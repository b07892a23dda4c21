// Argument checks of node:net and node:dgram, with their error codes, so that code written against Node
// fails the same way (synchronously, same `code`) on the guest runtime.

import { nodeError } from './errors';

function describe(v: unknown): string {
  if (v === null) return 'Received null';
  if (v === undefined) return 'Received undefined';
  if (typeof v === 'function') return `Received function ${(v as { name?: string }).name ?? ''}`;
  if (typeof v === 'object') return `Received an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  return `Received type ${typeof v} (${typeof v === 'string' ? `'${v}'` : String(v)})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): Error {
  return nodeError('ERR_INVALID_ARG_TYPE', `The "${name}" ${name.includes('.') ? 'property' : 'argument'} must be ${expected}. ${describe(value)}`, TypeError);
}

/** Node's validatePort: a number or numeric string in 0..65535 (1.. when zero is not allowed). */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if ((typeof port !== 'number' && typeof port !== 'string') || (typeof port === 'string' && port.trim().length === 0)
    || +port !== +port >>> 0 || +port > 0xffff || (+port === 0 && !allowZero)) {
    throw nodeError('ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. ${describe(port)}.`, RangeError);
  }
  return +port;
}

/** A string that is not a port number names a Unix socket in node:net's connect(path). */
export function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && !(s.trim().length > 0 && Number.isFinite(Number(s)));
}

/** dgram's message argument as a list of buffers (copied: the datagram leaves after send() returned). */
export function datagramParts(msg: unknown): Buffer[] {
  const one = (m: unknown): Buffer | null => {
    if (typeof m === 'string') return Buffer.from(m);
    if (ArrayBuffer.isView(m)) return Buffer.from(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
    return null;
  };
  const list = Array.isArray(msg) ? msg.map(one) : [one(msg)];
  if (list.some((b) => b === null)) throw invalidArgType(Array.isArray(msg) ? 'buffer list arguments' : 'buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', msg);
  return list as Buffer[];
}

/** dgram's send(msg, offset, length, ...): the bytes msg[offset, offset + length). */
export function sliceDatagram(msg: unknown, offset: unknown, length: unknown): Buffer {
  const whole = datagramParts(msg);
  if (whole.length !== 1) throw invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', msg);
  const b = whole[0] as Buffer;
  const o = Number(offset) >>> 0;
  const n = Number(length) >>> 0;
  if (o > b.length) throw nodeError('ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds', RangeError);
  if (o + n > b.length) throw nodeError('ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds', RangeError);
  return b.subarray(o, o + n);
}

export interface ConnectCall<O> {
  options: O;
  listener: (() => void) | undefined;
}

/**
 * node:net's connect arguments: (options, listener?) or (port, host?, listener?); a path (Unix socket) is
 * refused, since linsockd performs IP sockets only. Checks the port as Node does, synchronously.
 */
export function connectArgs<O extends { port?: unknown; host?: string; path?: string }>(args: unknown[]): ConnectCall<O> {
  const last = args[args.length - 1];
  const listener = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  let options: O;
  if (first !== null && typeof first === 'object') options = { ...(first as O) };
  else if (isPipeName(first)) options = { path: first } as O;
  else options = { port: first, ...(typeof args[1] === 'string' ? { host: args[1] } : {}) } as O;
  if (options.path !== undefined && options.path !== null) {
    throw nodeError('EAFNOSUPPORT', `connect EAFNOSUPPORT ${options.path} (linsockd delegates IP sockets only, not a Unix socket path)`);
  }
  if (options.port === undefined) throw nodeError('ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified', TypeError);
  if (typeof options.port !== 'number' && typeof options.port !== 'string') throw invalidArgType('options.port', 'one of type number or string', options.port);
  options.port = validatePort(options.port);
  return { options, listener };
}
