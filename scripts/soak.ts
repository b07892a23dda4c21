// `npm run soak -- --minutes N` (or `--seconds S`) [--guests G] [--kill-every S] [--progress S]: runs the
// soak (lab/soak/run.ts) against the built daemon and prints its report as one JSON line. Exit 0 when the
// daemon never ended on its own and exited 0, no byte came back changed and its descriptors came back to
// the baseline; 1 otherwise.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { runSoak } from '../lab/soak/run';

const USAGE = 'usage: npm run soak -- --minutes N | --seconds S [--guests G (4)] [--kill-every S (8)] [--progress S (30, 0: quiet)]';

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ options: { minutes: { type: 'string' }, seconds: { type: 'string' }, guests: { type: 'string' }, 'kill-every': { type: 'string' }, progress: { type: 'string' } }, strict: true }));
  } catch (err) {
    console.error(`soak: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const seconds = values.seconds !== undefined ? Number(values.seconds) : Number(values.minutes ?? 'x') * 60;
  const guests = Number(values.guests ?? 4);
  const killEvery = Number(values['kill-every'] ?? 8);
  const progress = Number(values.progress ?? 30);
  const problems: string[] = [];
  if (!(seconds >= 5 && seconds <= 24 * 3600)) problems.push('--minutes or --seconds must give 5 s .. 24 h');
  if (!(Number.isInteger(guests) && guests >= 1 && guests <= 32)) problems.push('--guests must be 1..32');
  if (!(killEvery >= 1 && killEvery <= 3600)) problems.push('--kill-every must be 1..3600 seconds');
  if (!(progress >= 0)) problems.push('--progress must be >= 0');
  if (problems.length) {
    console.error(`soak: ${problems.join('; ')}\n${USAGE}`);
    return 2;
  }
  const report = await runSoak({ root: resolve(__dirname, '..'), seconds, guests, killEverySeconds: killEvery, progressSeconds: progress });
  console.log(JSON.stringify(report));
  const ok = report.daemon_exits === 0 && report.daemon_exit_code === 0 && report.corrupt === 0
    && report.fds.start !== null && report.fds.end !== null && report.fds.end <= report.fds.start;
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`soak: ${err.message}`);
  process.exit(1);
});
