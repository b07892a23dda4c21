// `linsock bench --workload W --paths P1,P2 [--seconds S] [--trace on|off] [--mode e1000|virtio] [--json]
// [--daemon GUEST_SOCKET]`: the contract in DESIGN.md. With --json, one BenchReport object on stdout;
// without, a table. Progress goes to stderr.

import { parseArgs } from 'node:util';
import { WORKLOADS, type EmulatedMode, type Workload } from '../../protocol';
import { BenchUsageError, runBench } from '../bench/run-bench';
import { formatTable } from '../bench/table';

export const BENCH_USAGE = 'usage: linsock bench --workload stream|rr|crr|udp-rr --paths direct,delegated [--seconds S] [--trace on|off] [--mode e1000|virtio] [--json] [--daemon GUEST_SOCKET]';

export async function benchCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        workload: { type: 'string' },
        paths: { type: 'string', default: 'direct,delegated' },
        seconds: { type: 'string', default: '5' },
        trace: { type: 'string', default: 'on' },
        mode: { type: 'string', default: 'virtio' },
        json: { type: 'boolean', default: false },
        daemon: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`linsock bench: ${(err as Error).message}\n${BENCH_USAGE}`);
    return 2;
  }
  const workload = values.workload as string | undefined;
  const seconds = Number(values.seconds);
  const problems: string[] = [];
  if (!workload) problems.push('--workload is required');
  else if (!(WORKLOADS as readonly string[]).includes(workload)) problems.push(`unknown workload '${workload}' (expected ${WORKLOADS.join(', ')})`);
  if (!(seconds > 0 && seconds <= 3600)) problems.push(`--seconds must be a number in (0, 3600], got '${String(values.seconds)}'`);
  if (values.trace !== 'on' && values.trace !== 'off') problems.push(`--trace must be on or off, got '${String(values.trace)}'`);
  if (values.mode !== 'e1000' && values.mode !== 'virtio') problems.push(`--mode must be e1000 or virtio, got '${String(values.mode)}'`);
  if (problems.length) {
    console.error(`linsock bench: ${problems.join('; ')}\n${BENCH_USAGE}`);
    return 2;
  }
  const json = values.json === true;
  try {
    const { report, results } = await runBench({
      workload: workload as Workload,
      paths: String(values.paths).split(',').map((p) => p.trim()).filter(Boolean),
      seconds,
      trace: values.trace === 'on',
      mode: values.mode as EmulatedMode,
      daemon: values.daemon as string | undefined,
      log: (l) => console.error(l),
    });
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(formatTable(report, results));
    return results.every((r) => r.verified) ? 0 : 1;
  } catch (err) {
    console.error(`linsock bench: ${(err as Error).message}`);
    return err instanceof BenchUsageError ? 2 : 1;
  }
}
