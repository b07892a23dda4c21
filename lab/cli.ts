// `linsock`: the lab's command line, a small dispatcher over one module per command (lab/commands/).
// Commands whose names start with `_` are the lab's own helper processes, not for people.
import { benchCommand } from './commands/bench';
import { startCommand } from './commands/start';
import { serverCommand } from './commands/server';
import { workloadCommand } from './commands/workload';
import { recordCommand } from './commands/record';
import { exportCommand } from './commands/export';
import { runCommand } from './commands/run';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: startCommand,
  bench: benchCommand,
  record: recordCommand,
  export: exportCommand,
  run: runCommand,
  _workload: workloadCommand,
  _server: serverCommand,
};

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
command(rest).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`linsock ${name}: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  },
);
