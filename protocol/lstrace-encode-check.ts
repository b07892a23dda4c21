// The encoder's input checks, shared by the chunk writer (lstrace-encode.ts) and the run record writer
// (lstrace-run-write.ts): records come from our own code, so a value that cannot be encoded losslessly
// throws a RangeError naming the field.

/** Index of each name in an enumeration list of trace.ts, for encoding it as a small number. */
export const indexOf = <T extends string>(list: readonly T[]) => new Map<string, number>(list.map((v, i) => [v, i]));

export function fail(what: string, expected: string, v: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = String(v);
  }
  throw new RangeError(`cannot encode ${what} = ${shown}: expected ${expected}`);
}
export function nat(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) fail(what, 'an integer in 0..2^53-1', v);
  return v;
}
/** A name with the length limit of invalidRecord (trace.ts), so that what is written reads back valid. */
export function short(s: string, max: number, what: string): string {
  if (typeof s !== 'string' || s.length > max) fail(what, `a string of at most ${max} characters`, s);
  return s;
}
