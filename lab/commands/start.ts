// `linsock start` (npm start): one process hosts linsockd, its trace hub and its trace server, whose `run`
// request (the extension's "Run Comparison…") drives the bench runner against that daemon. At startup it
// runs the comparison on every path on short defaults, prints the tables and writes the run under
// traces/ (a complete .lstrace and a capped Chrome JSON, see start/trace-files.ts), as it does each run
// requested over the trace server; then the same in a QEMU VM (delegated over virtio-serial against QEMU's
// NIC) when QEMU is installed, or one line saying why not; then it prints how to connect and keeps running
// until Ctrl-C.

import { parseArgs } from 'node:util';
import { usageError } from './options';
import { resolve } from 'node:path';
import type { EmulatedMode, Path, Workload } from '../../protocol';
import { emulatedPathSupport } from '../emulated';
import { MAX_BUSY_POLL_US } from '../../daemon';
import { formatReport } from '../start/format-report';
import { startServe, type Serve } from '../start/serve';
import { traceFilesMessage, writeTraceFiles } from '../start/trace-files';

export const START_USAGE =
  'usage: linsock start [--no-initial-run] [--no-vm] [--seconds S] [--trace-port N] [--guest-socket PATH] [--token-file FILE] [--traces-dir DIR] [--trace on|off] [--busy-poll-us N]';

const INITIAL_WORKLOADS: Workload[] = ['stream', 'rr'];
const VM_RUN_MODE: EmulatedMode = 'virtio';

interface StartArgs {
  initialRun: boolean;
  /** Whether the initial comparison goes on in a VM (when QEMU is here). */
  vm: boolean;
  seconds: number;
  tracePort?: number;
  guestSocket?: string;
  tokenFile?: string;
  tracesDir: string;
  trace: boolean;
  busyPollUs?: number;
}

function parseStartArgs(argv: string[]): StartArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      'no-initial-run': { type: 'boolean', default: false },
      'no-vm': { type: 'boolean', default: false },
      seconds: { type: 'string', default: '2' },
      'trace-port': { type: 'string' },
      'guest-socket': { type: 'string' },
      'token-file': { type: 'string' },
      'traces-dir': { type: 'string', default: 'traces' },
      trace: { type: 'string', default: 'on' },
      'busy-poll-us': { type: 'string' },
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  if (!(seconds > 0 && seconds <= 600)) throw new Error(`--seconds must be a number in (0, 600], got '${values.seconds}'`);
  let tracePort: number | undefined;
  if (values['trace-port'] !== undefined) {
    tracePort = Number(values['trace-port']);
    if (!Number.isInteger(tracePort) || tracePort < 0 || tracePort > 65535) throw new Error(`--trace-port must be a port in 0..65535, got '${values['trace-port']}'`);
  }
  if (values.trace !== 'on' && values.trace !== 'off') throw new Error(`--trace must be on or off, got '${values.trace}'`);
  const busy = values['busy-poll-us'];
  if (busy !== undefined && (!/^\d+$/.test(busy) || Number(busy) > MAX_BUSY_POLL_US)) throw new Error(`--busy-poll-us expects microseconds 0..${MAX_BUSY_POLL_US}, got '${busy}'`);
  return {
    initialRun: values['no-initial-run'] !== true,
    vm: values['no-vm'] !== true,
    seconds,
    tracePort,
    guestSocket: values['guest-socket'],
    tokenFile: values['token-file'],
    tracesDir: resolve(values['traces-dir'] as string),
    trace: values.trace === 'on',
    busyPollUs: busy === undefined ? undefined : Number(busy),
  };
}

/** The runs of the initial comparison: every path with the emulated NIC as e1000, then emulated as virtio. */
function initialRuns(emulated: boolean): { paths: Path[]; mode: EmulatedMode | null }[] {
  if (!emulated) return [{ paths: ['direct', 'delegated'], mode: null }];
  return [{ paths: ['direct', 'delegated', 'emulated'], mode: 'e1000' }, { paths: ['emulated'], mode: 'virtio' }];
}

async function initialComparison(serve: Serve, a: StartArgs, stopped: () => boolean): Promise<void> {
  const support = await emulatedPathSupport();
  if (!support.ok) console.log(`${support.reason}; comparing direct and delegated only.\n`);
  serve.recorder.start();
  let emulated = support.ok;
  try {
    for (const workload of INITIAL_WORKLOADS) {
      for (const r of initialRuns(emulated)) {
        if (stopped()) return;
        let paths = r.paths;
        if (!emulated) paths = paths.filter((p) => p !== 'emulated');
        if (paths.length === 0) continue;
        try {
          console.log(formatReport(await serve.run({ workload, paths, seconds: a.seconds, mode: r.mode })));
        } catch (err) {
          if (stopped()) return;
          const what = `${workload} on ${paths.join(', ')}${r.mode ? ` (${r.mode})` : ''}`;
          if (!paths.includes('emulated')) {
            console.log(`${what} failed: ${(err as Error).message}\n`);
            continue;
          }
          // The emulated path could not run here: say why once, and compare the other paths without it.
          emulated = false;
          console.log(`${what} failed: ${(err as Error).message}\nSkipping the emulated path from here on.\n`);
          const rest = paths.filter((p) => p !== 'emulated');
          if (rest.length === 0) continue;
          try {
            console.log(formatReport(await serve.run({ workload, paths: rest, seconds: a.seconds, mode: null })));
          } catch (err2) {
            if (stopped()) return;
            console.log(`${workload} on ${rest.join(', ')} failed: ${(err2 as Error).message}\n`);
          }
        }
      }
    }
    // QEMU's NIC needs a TAP, as the emulated path here does: without it the VM runs the delegated path.
    if (!stopped()) await vmComparison(serve, a, emulated ? ['delegated', 'emulated'] : ['delegated'], stopped);
  } finally {
    const { records, leftOut } = serve.recorder.stop();
    if (!stopped() && records.length > 0) {
      const name = `start-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      console.log(`${traceFilesMessage(writeTraceFiles(a.tracesDir, name, records), records.length, leftOut)}\n`);
    } else if (!stopped()) console.log(`The run produced no trace records${a.trace ? '' : ' (--trace off)'}; no trace files written.\n`);
  }
}

/**
 * The initial comparison in a QEMU VM: each workload delegated over virtio-serial against QEMU's
 * virtio-net (the paravirtual NIC the paper compares against), one VM boot per workload.
 */
async function vmComparison(serve: Serve, a: StartArgs, paths: Path[], stopped: () => boolean): Promise<void> {
  const vm = serve.offer.guests.find((g) => g.kind === 'vm');
  const why = !a.vm ? '--no-vm' : vm?.unavailable ?? null;
  if (why !== null) {
    console.log(`Skipping the comparison in a QEMU VM: ${why}.\n`);
    return;
  }
  console.log(`The same in a QEMU VM (a VM boots for each workload, ${VM_RUN_MODE}; under TCG the guest CPU is emulated):\n`);
  for (const workload of INITIAL_WORKLOADS) {
    if (stopped()) return;
    try {
      console.log(formatReport(await serve.run({ workload, paths, seconds: a.seconds, mode: VM_RUN_MODE, guest: 'vm' })));
    } catch (err) {
      if (stopped()) return;
      // One VM that cannot boot here says why once; the rest would fail the same way.
      console.log(`${workload} in a QEMU VM failed: ${(err as Error).message}\nSkipping the rest of the VM comparison.\n`);
      return;
    }
  }
}

export async function startCommand(argv: string[] = []): Promise<number> {
  let a: StartArgs;
  try {
    a = parseStartArgs(argv);
  } catch (err) {
    usageError('start', START_USAGE, [(err as Error).message]);
    return 2;
  }
  console.log('Linsock — delegated vs emulated socket calls, traced call by call.\n');
  const serve = await startServe({
    guestSocket: a.guestSocket,
    tracePort: a.tracePort,
    tokenFile: a.tokenFile,
    trace: a.trace,
    busyPollUs: a.busyPollUs,
    tracesDir: a.tracesDir,
    log: (line) => console.error(line),
  });
  let stopping = false;
  const done = new Promise<number>((resolveDone) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping linsock start ...`);
      // A stuck teardown must not keep the terminal: exit after 10 s whatever happens.
      setTimeout(() => process.exit(1), 10_000).unref();
      serve.close().then(
        () => resolveDone(0),
        (err: unknown) => {
          console.error(`linsock start: teardown failed: ${(err as Error).message}`);
          resolveDone(1);
        },
      );
    };
    // `on`, not `once`: the VM lab stops its VMs on a signal and raises it again (lab/vm/machine.ts); that
    // second one must find this handler, or it would end the process before the teardown below.
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  console.log(`linsock ready trace=${serve.traceUrl} guest=${serve.guestPath} token-file=${serve.tokenFile}`);
  if (a.initialRun) await initialComparison(serve, a, () => stopping);
  if (!stopping) {
    console.log(`linsockd is running in this process; Ctrl-C stops it.
  trace stream:  ${serve.traceUrl}
  token file:    ${serve.tokenFile}
  guest socket:  ${serve.guestPath}   (guests: LINSOCK_CHANNEL=${serve.guestPath})
From VS Code: run "Linsock: Connect to Daemon…" (settings linsock.daemon.url = ${serve.traceUrl},
linsock.daemon.tokenFile = ${serve.tokenFile}), then "Linsock: Run Comparison…".`);
  }
  return done;
}
