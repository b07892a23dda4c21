// String interning for the call store: each call stores a guest, result and run as a u16 index instead of
// a string, so a million calls hold no strings of their own. Its own file because the cap on distinct
// names ("(other)") is a rule of its own, apart from the columns.

/** Interns strings into small indices so each call stores a u16. */
export class Interned {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  /** Indices are stored as u16: past this many distinct names, the rest share one "(other)" entry. */
  static readonly MAX = 65535;
  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      if (this.values.length === Interned.MAX - 1) s = '(other)';
      if (this.values.length >= Interned.MAX) return this.index.get('(other)') ?? Interned.MAX - 1;
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}
