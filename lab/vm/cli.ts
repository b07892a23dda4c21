// A VM bench on its own: node --import tsx lab/vm/cli.ts --workload stream --mode e1000 --seconds 3 --json
// (`linsock bench --guest vm` runs the same runVmBench).

import { parseArgs } from 'node:util';
import type { VmPath, VmWorkload } from './agent-protocol';
import type { NicMode } from './machine';
import { runVmBench } from './run-vm-bench';
import { formatVmTable } from './vm-table';


async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string', default: 'stream' },
      paths: { type: 'string', default: 'delegated,emulated' },
      mode: { type: 'string', default: 'virtio' },
      seconds: { type: 'string', default: '3' },
      accel: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
  });
  const accel = values.accel;
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new Error(`--accel must be auto, kvm or tcg, not '${accel}'`);
  const report = await runVmBench({
    workload: values.workload as VmWorkload,
    paths: (values.paths as string).split(',').map((p) => p.trim()).filter(Boolean) as VmPath[],
    mode: values.mode as NicMode,
    seconds: Number(values.seconds),
    accel,
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatVmTable(report)}\n`);
  return report.results.every((r) => r.verified) ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: Error) => {
  console.error(`linsock vm bench: ${err.message}`);
  process.exitCode = 1;
});
