// What a capped Chrome JSON left out, told to the person opening it. `linsock start` writes each run's
// Chrome JSON with only the first records of each run and path (lab/start/trace-files.ts) and says so in
// otherData.linsock.capped; the format's reader passes that member over, so the file loader's worker asks
// here, on the file's tail. Pure text in, one sentence out; nothing from the file is trusted.

/** How much of the file's end is read: otherData comes last, and a run file's otherData is a few KiB. */
export const CAP_TAIL_BYTES = 256 * 1024;

const KEY = '"otherData":';

const count = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/**
 * The note for a Chrome JSON whose `tail` (the last bytes of the file, as text) holds otherData.linsock.capped,
 * or null when there is none or it cannot be read. A key inside a JSON string has its quotes escaped, so the
 * last literal `"otherData":` is a member name; Linsock writes the top-level one last.
 */
export function cappedNote(tail: string): string | null {
  const at = tail.lastIndexOf(KEY);
  if (at < 0) return null;
  // The value runs to the end of the top-level object: drop that object's closing brace.
  const rest = tail.slice(at + KEY.length).trimEnd();
  if (!rest.endsWith('}')) return null;
  let other: unknown;
  try {
    other = JSON.parse(rest.slice(0, -1));
  } catch {
    return null;
  }
  const capped = (other as { linsock?: { capped?: Record<string, unknown> } } | null)?.linsock?.capped;
  if (typeof capped !== 'object' || capped === null) return null;
  const calls = count(capped.callsLeftOut);
  const frames = count(capped.framesLeftOut);
  const per = count(capped.recordsPerRunAndPath);
  if (calls === null || frames === null || calls + frames === 0) return null;
  const complete = typeof capped.complete === 'string' && capped.complete.length > 0 ? capped.complete.slice(0, 200) : null;
  const left = `${calls + frames} records were left out (${calls} calls, ${frames} frames)`;
  const cap = per !== null ? `it was exported with a cap of ${per} records per run and path: ` : 'it was exported with a cap: ';
  return `${cap}${left}${complete ? `; ${complete} holds every record` : ''}`;
}
