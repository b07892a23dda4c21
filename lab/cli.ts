// `linsock`: the lab's command line, a small dispatcher over one module per command (lab/commands/).
// Commands whose names start with `_` are the lab's own helper processes, not for people.
import { BENCH_USAGE, benchCommand } from './commands/bench';
import { START_USAGE, startCommand } from './commands/start';
import { serverCommand } from './commands/server';
import { workloadCommand } from './commands/workload';
import { RECORD_USAGE, recordCommand } from './commands/record';
import { EXPORT_USAGE, exportCommand } from './commands/export';
import { RUN_USAGE, runCommand } from './commands/run';

interface Command {
  run: (argv: string[]) => Promise<number>;
  /** What `linsock <command> --help` prints; the helper processes have none. */
  usage?: string;
}

const COMMANDS: Record<string, Command> = {
  start: { run: startCommand, usage: START_USAGE },
  bench: { run: benchCommand, usage: BENCH_USAGE },
  record: { run: recordCommand, usage: RECORD_USAGE },
  export: { run: exportCommand, usage: EXPORT_USAGE },
  run: { run: runCommand, usage: RUN_USAGE },
  _workload: { run: workloadCommand },
  _server: { run: serverCommand },
};

/** `--help` among a command's own options (before `--`: after it, `linsock run` passes it to the program). */
function asksForHelp(argv: string[]): boolean {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  return own.includes('--help') || own.includes('-h');
}

const USAGE = `usage: linsock <command> [options]   (no command: start)
  start    host linsockd with the lab attached, run a first comparison, serve traces until Ctrl-C
  bench    run one workload (or a real program: --program iperf3) over chosen paths; a table or a JSON BenchReport
  record   write a running linsockd's live trace stream to an .lstrace file
  export   convert an .lstrace or Chrome JSON trace to chrome, csv, lstrace or pcapng
  run      run one unmodified program with its TCP and UDP sockets delegated (--path delegated) or direct`;

const [name = 'start', ...rest] = process.argv.slice(2);
if (name === '--help' || name === '-h' || name === 'help') {
  console.log(USAGE);
  process.exit(0);
}
const command = COMMANDS[name];
if (!command) {
  console.error(`linsock: unknown command '${name}'\n${USAGE}`);
  process.exit(2);
}
if (command.usage && asksForHelp(rest)) {
  console.log(command.usage);
  process.exit(0);
}
command.run(rest).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`linsock ${name}: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  },
);
