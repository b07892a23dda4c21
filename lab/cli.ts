// `linsock`: the lab's command line. Subcommands grow with the issues that build them.
const [command] = process.argv.slice(2);

function start(): void {
  console.log(`Linsock — delegated vs emulated socket calls, traced call by call.

What exists now:
  protocol/   the delegation wire protocol v1, the trace model and the .lstrace format
What is coming:
  linsockd    the host delegation daemon (npx linsockd)
  linsock     bench, record and export (npx linsock bench --workload stream --paths direct,delegated)
  the VS Code extension and its trace viewer`);
}

switch (command) {
  case 'start':
  case undefined:
    start();
    break;
  default:
    console.error(`linsock: unknown command '${command}'. Commands: start`);
    process.exit(2);
}
