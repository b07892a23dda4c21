// `linsock run --path delegated|emulated|direct [--mode e1000|virtio] [--daemon SOCK] -- CMD ARGS...`: runs
// one unmodified, dynamically linked program with its TCP and UDP sockets delegated to linsockd (lab/run/),
// behind the emulated NIC, or directly on the host.
import { runProgram, RUN_PATHS, type RunPath } from '../run/run-program';
import { parseOptions, usageError } from './options';

export const RUN_USAGE = 'usage: linsock run --path delegated|emulated|direct [--mode e1000|virtio] [--daemon GUEST_SOCKET] [--trace on|off] [--trace-file FILE.lstrace] -- COMMAND [ARGS...]';

export async function runCommand(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const program = split < 0 ? [] : argv.slice(split + 1);
  const parsed = parseOptions('run', RUN_USAGE, own, {
    options: { path: { type: 'string', default: 'delegated' }, daemon: { type: 'string' }, mode: { type: 'string' }, trace: { type: 'string' }, 'trace-file': { type: 'string' } },
  });
  if (!parsed) return 2;
  const path = parsed.values.path as string;
  const problems: string[] = [];
  if (!RUN_PATHS.includes(path as RunPath)) problems.push(`--path must be one of ${RUN_PATHS.join(', ')}, got '${path}'`);
  if (parsed.positionals.length > 0) problems.push(`put the program after --: ${parsed.positionals.join(' ')}`);
  if (program.length === 0) problems.push('no program given after --');
  if (parsed.values.daemon !== undefined && path !== 'delegated') problems.push('--daemon applies to --path delegated only');
  const mode = parsed.values.mode as string | undefined;
  if (mode !== undefined && mode !== 'e1000' && mode !== 'virtio') problems.push(`--mode must be e1000 or virtio, got '${mode}'`);
  else if (mode !== undefined && path !== 'emulated') problems.push('--mode applies to --path emulated only');
  const trace = parsed.values.trace as string | undefined;
  const traceFile = parsed.values['trace-file'] as string | undefined;
  if (trace !== undefined && trace !== 'on' && trace !== 'off') problems.push(`--trace must be on or off, got '${trace}'`);
  if (traceFile !== undefined && !traceFile) problems.push('--trace-file needs a file name');
  if (traceFile && trace === 'off') problems.push('--trace off and --trace-file contradict each other');
  if (traceFile && parsed.values.daemon !== undefined)
    problems.push("--trace-file records an in-process daemon's calls: with --daemon, use --trace on and record from that daemon (linsock record)");
  if (trace === 'on' && !traceFile && parsed.values.daemon === undefined)
    problems.push('--trace on needs somewhere for the records: --trace-file FILE.lstrace, or --daemon SOCK (its trace hub)');
  if (problems.length) {
    usageError('run', RUN_USAGE, problems);
    return 2;
  }
  const [command = '', ...args] = program;
  return runProgram({
    path: path as RunPath, daemon: parsed.values.daemon as string | undefined, mode: mode as 'e1000' | 'virtio' | undefined, command, args,
    traceFile, trace: trace === 'on' || traceFile !== undefined,
  });
}
