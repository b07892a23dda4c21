// Reads the body of a run record (its facts: paths, params, host, clocks) and the tagged values it holds.
// Run records are rare (one per run), so this cold path lives apart from the per-call parser and reads
// through a RecordSource instead of the parser's module-local state.

import { MAX_RECORD_NAME, MODES, RunBit, Kind, ValueTag } from './lstrace-format';
import { PATHS, type HostFacts, type Path, type RunInfo } from './trace';

/** The parser's cursor over the chunk body, as the run reader sees it (lstrace-chunk-read.ts). */
export interface RecordSource {
  /** The body offset of the next byte. */
  pos(): number;
  /** The next byte without consuming it, or -1 at the end of the body. */
  peek(): number;
  byte(): number;
  uv(): number;
  /** Eight bytes as a big-endian IEEE-754 double. */
  float64(): number;
  /** A string-table index, resolved; refused when longer than `maxLength` characters. */
  str(what: string, maxLength?: number): string;
  /** A varint count of items of at least a byte each, checked against what is left of the body. */
  counted(what: string): number;
  bad(what: string, expected: string, at: number): never;
}

function numberValue(src: RecordSource, what: string): number {
  const tag = src.byte();
  if (tag === ValueTag.nat) return src.uv();
  if (tag !== ValueTag.float) src.bad(`bad ${what}`, `a number tag (1 or 4), got ${tag}`, src.pos() - 1);
  return src.float64();
}
function anyValue(src: RecordSource, what: string): string | number | boolean {
  // At the end of the body numberValue's byte() reports the shortage.
  const tag = src.peek();
  if (tag === ValueTag.string) {
    src.byte();
    return src.str(what);
  }
  if (tag === ValueTag.true || tag === ValueTag.false) {
    src.byte();
    return tag === ValueTag.true;
  }
  return numberValue(src, what);
}
/** Sets own property `k` even when it is "__proto__", without touching the prototype. */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

export function readRun(tag: number, src: RecordSource): RunInfo {
  if ((tag & ~RunBit.pathMtu) !== Kind.run) src.bad('bad run record', 'reserved tag bits 0', src.pos() - 1);
  // The model's limits (invalidRecord, trace.ts): every decoded record must pass it.
  const id = src.str('run id', MAX_RECORD_NAME);
  const workload = src.str('run workload', MAX_RECORD_NAME);
  const np = src.byte();
  const paths: Path[] = [];
  for (let i = 0; i < np; i++) {
    const p = src.byte();
    if (p >= PATHS.length) src.bad('bad run path', `a path index below ${PATHS.length}, got ${p}`, src.pos() - 1);
    paths.push(PATHS[p] as Path);
  }
  const params: RunInfo['params'] = {};
  for (let i = src.counted('run params'); i > 0; i--) {
    const k = src.str('run param key');
    setOwn(params, k, anyValue(src, `run param ${k}`));
  }
  const kernel = src.str('host kernel');
  const cpu = src.str('host cpu');
  const cpus = numberValue(src, 'host cpus');
  const mtu = numberValue(src, 'host mtu');
  const m = src.byte();
  if (m >= MODES.length) src.bad('bad host mode', `0..${MODES.length - 1}, got ${m}`, src.pos() - 1);
  const offloads: string[] = [];
  for (let i = src.counted('host offloads'); i > 0; i--) offloads.push(src.str('host offload'));
  const host: HostFacts = { kernel, cpu, cpus, mtu, mode: MODES[m] as HostFacts['mode'], offloads };
  if (tag & RunBit.pathMtu) {
    const n = src.byte();
    if (n > PATHS.length) src.bad('bad host path MTUs', `at most ${PATHS.length}, got ${n}`, src.pos() - 1);
    const pathMtu: HostFacts['pathMtu'] = {};
    for (let i = 0; i < n; i++) {
      const p = src.byte();
      if (p >= PATHS.length) src.bad('bad host path MTU', `a path index below ${PATHS.length}, got ${p}`, src.pos() - 1);
      const at = src.pos();
      const v = numberValue(src, 'host path MTU');
      if (!Number.isSafeInteger(v) || v < 0) src.bad('bad host path MTU', `a non-negative integer, got ${v}`, at);
      pathMtu[PATHS[p] as Path] = v;
    }
    host.pathMtu = pathMtu;
  }
  const at = src.pos();
  const startedNs = numberValue(src, 'run startedNs');
  if (!Number.isSafeInteger(startedNs) || startedNs < 0) src.bad('bad run startedNs', `a time in 0..2^53-1 ns, got ${startedNs}`, at);
  const clockErrorNs: RunInfo['clockErrorNs'] = {};
  let clockOffsetNs: Record<string, number> | null = null;
  for (let i = src.counted('run clock errors'); i > 0; i--) {
    const k = src.str('clock error key');
    // ValueTag.clock: the error, then the guest's clock offset (format version 2).
    const withOffset = src.peek() === ValueTag.clock;
    if (withOffset) src.byte();
    setOwn(clockErrorNs, k, numberValue(src, `clock error ${k}`));
    if (withOffset) setOwn((clockOffsetNs ??= {}), k, numberValue(src, `clock offset ${k}`));
  }
  const run: RunInfo = { kind: 'run', id, workload, paths, params, host, startedNs, clockErrorNs };
  if (clockOffsetNs) run.clockOffsetNs = clockOffsetNs;
  return run;
}
