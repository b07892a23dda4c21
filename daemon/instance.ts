// This daemon process's name in the trace stream's hello: the program, its pid and when it started, so that
// a client that reconnects can tell a restarted daemon from the same one (their record seqs start over).

const STARTED = new Date(Date.now() - Math.round(process.uptime() * 1000)).toISOString();

/** `linsockd pid=1234 start=2026-11-27T20:00:00.000Z` (or `PROGRAM pid=... start=...`). */
export function instanceName(program = 'linsockd'): string {
  return `${program} pid=${process.pid} start=${STARTED}`;
}
