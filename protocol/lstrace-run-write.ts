// Writes the body of a run record (its facts: paths, params, host, clocks) and the tagged values it holds.
// Run records are rare (one per run), so this cold path lives apart from the per-call chunk writer
// (lstrace-encode.ts) and writes through a RecordSink instead of the writer's private buffer.

import { fail, indexOf, nat } from './lstrace-encode-check';
import { Kind, MODES, RunBit, ValueTag } from './lstrace-format';
import { PATHS, type RunInfo } from './trace';

/** The chunk writer's scratch buffer, as the run writer sees it. */
export interface RecordSink {
  /** Makes room for `n` more bytes. */
  room(n: number): void;
  byte(b: number): void;
  /** Unsigned varint of 0 <= v <= 2^53-1. */
  uv(v: number): void;
  /** Eight bytes: `v` as a big-endian IEEE-754 double (room made by the caller). */
  float64(v: number): void;
  /** The index of `s` in the chunk's string table (added when new). */
  intern(s: string, what: string): number;
}

const PATH_INDEX = indexOf(PATHS);

/** A number, losslessly: a varint when it is a non-negative safe integer, else its IEEE-754 double. */
function numberValue(w: RecordSink, v: number, what: string): void {
  w.room(9);
  if (typeof v !== 'number') fail(what, 'a number', v);
  if (Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0)) {
    w.byte(ValueTag.nat);
    w.uv(v);
  } else {
    w.byte(ValueTag.float);
    w.float64(v);
  }
}
function anyValue(w: RecordSink, v: string | number | boolean, what: string): void {
  w.room(9);
  if (typeof v === 'string') {
    w.byte(ValueTag.string);
    w.uv(w.intern(v, what));
  } else if (typeof v === 'boolean') w.byte(v ? ValueTag.true : ValueTag.false);
  else numberValue(w, v, what);
}
function natural(w: RecordSink, n: number, what: string): void {
  w.room(9);
  w.uv(nat(n, what));
}
function str(w: RecordSink, s: string, what: string): void {
  w.room(9);
  w.uv(w.intern(s, what));
}

export function writeRun(w: RecordSink, r: RunInfo): void {
  w.room(16);
  const h = r.host ?? fail('run.host', 'host facts', r.host);
  const pathMtu = h.pathMtu === undefined ? null : Object.entries(h.pathMtu);
  w.byte(Kind.run | (pathMtu ? RunBit.pathMtu : 0));
  str(w, r.id, 'run.id');
  str(w, r.workload, 'run.workload');
  if (!Array.isArray(r.paths) || r.paths.length > 255) fail('run.paths', 'at most 255 paths', r.paths);
  w.room(1 + r.paths.length);
  w.byte(r.paths.length);
  for (const p of r.paths) {
    const i = PATH_INDEX.get(p);
    if (i === undefined) fail('run.paths[]', PATHS.join(' | '), p);
    w.byte(i);
  }
  const params = Object.entries(r.params ?? fail('run.params', 'an object', r.params));
  natural(w, params.length, 'run.params');
  for (const [k, v] of params) {
    str(w, k, 'run.params key');
    anyValue(w, v, `run.params.${k}`);
  }
  str(w, h.kernel, 'run.host.kernel');
  str(w, h.cpu, 'run.host.cpu');
  numberValue(w, h.cpus, 'run.host.cpus');
  numberValue(w, h.mtu, 'run.host.mtu');
  const mode = MODES.indexOf(h.mode);
  if (mode < 0) fail('run.host.mode', 'null | e1000 | virtio', h.mode);
  w.room(1);
  w.byte(mode);
  if (!Array.isArray(h.offloads)) fail('run.host.offloads', 'a list of strings', h.offloads);
  natural(w, h.offloads.length, 'run.host.offloads');
  for (const o of h.offloads) str(w, o, 'run.host.offloads[]');
  if (pathMtu) {
    w.room(1);
    w.byte(pathMtu.length > PATHS.length ? fail('run.host.pathMtu', `at most ${PATHS.length} paths`, h.pathMtu) : pathMtu.length);
    for (const [p, mtu] of pathMtu) {
      w.room(1);
      w.byte(PATH_INDEX.get(p) ?? fail('run.host.pathMtu key', PATHS.join(' | '), p));
      numberValue(w, mtu as number, `run.host.pathMtu.${p}`);
    }
  }
  numberValue(w, r.startedNs, 'run.startedNs');
  const errors = Object.entries(r.clockErrorNs ?? fail('run.clockErrorNs', 'an object', r.clockErrorNs));
  natural(w, errors.length, 'run.clockErrorNs');
  // A guest with a clock offset stores it beside its error: ValueTag.clock, the error, the offset.
  const offsets = r.clockOffsetNs ?? {};
  for (const k of Object.keys(offsets)) if (!Object.hasOwn(r.clockErrorNs, k)) fail(`run.clockOffsetNs.${k}`, 'an offset of a guest with an error bound in run.clockErrorNs', offsets[k]);
  for (const [k, v] of errors) {
    str(w, k, 'run.clockErrorNs key');
    const offset = Object.hasOwn(offsets, k) ? offsets[k] : undefined;
    if (offset !== undefined) {
      w.room(1);
      w.byte(ValueTag.clock);
    }
    numberValue(w, v, `run.clockErrorNs.${k}`);
    if (offset !== undefined) numberValue(w, offset, `run.clockOffsetNs.${k}`);
  }
}
