// Byte counts as people read them, shared by the extension's tree and the viewer's call details so both
// show the same figure the same way.

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** Binary units, three significant figures at most: 1023 B, 1.5 MiB, 12 KiB, 3072 TiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}
