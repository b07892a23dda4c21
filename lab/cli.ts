// `linsock`: the lab's command line, a small dispatcher over one module per command (lab/commands/).
// Commands whose names start with `_` are the lab's own helper processes, not for people.
import { benchCommand } from './commands/bench';
import { startCommand } from './commands/start';
import { serverCommand } from './commands/server';
import { workloadCommand } from './commands/workload';
import { recordCommand } from './commands/record';
import { exportCommand } from './commands/export';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: startCommand,
  bench: benchCommand,
  record: recordCommand,
  export: exportCommand,
  _workload: workloadCommand,
  _server: serverCommand,
};

const [name = 'start', ...rest] = process.argv.slice(2);
const command = COMMANDS[name];
if (!command) {
  const visible = Object.keys(COMMANDS).filter((c) => !c.startsWith('_'));
  console.error(`linsock: unknown command '${name}'. Commands: ${visible.join(', ')}`);
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
