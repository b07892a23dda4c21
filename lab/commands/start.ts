// `linsock start` (npm start): starts linsockd as its own process with a policy that allows the bench
// server, runs every workload briefly on direct and delegated, prints the comparison, and keeps the
// daemon running (printing how to connect) until Ctrl-C.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Workload } from '../../protocol';
import type { BenchServerPorts } from '../server';
import { BENCH_WORKLOADS, runBench } from '../bench/run-bench';
import { formatTable } from '../bench/table';
import { firstJsonLine, spawnLinsock } from '../bench/linsock-process';

const READY = /^linsockd ready trace=(\S+) guest=(\S+) token-file=(\S+)/;
const SECONDS = 2;

interface Ready {
  trace: string;
  guest: string;
  tokenFile: string;
}

function daemonScript(): string {
  return join(dirname(process.argv[1] ?? '.'), 'linsockd.js');
}

/** Starts dist/linsockd.js and resolves with its ready line; its JSON log goes to `logFile`. */
function startDaemon(config: string, logFile: string, extra: string[] = []): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(process.execPath, [daemonScript(), '--config', config, ...extra], { stdio: ['ignore', 'pipe', openSync(logFile, 'a')] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`linsockd printed no ready line within 10 s (its log: ${logFile})`));
    }, 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = READY.exec(buf.split('\n').find((l) => READY.test(l)) ?? '');
      if (!m) return;
      clearTimeout(timer);
      resolve({ child, ready: { trace: m[1] as string, guest: m[2] as string, tokenFile: m[3] as string } });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`linsockd exited (${signal ?? `code ${code}`}) before it was ready; its log: ${logFile}`));
    });
  });
}

export async function startCommand(): Promise<number> {
  console.log('Linsock — delegated vs emulated socket calls, traced call by call.\n');
  const serverChild = spawnLinsock(['_server', '127.0.0.1']);
  const server = await firstJsonLine<BenchServerPorts>(serverChild, 'the bench server', 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'linsock-start-'));
  const config = join(dir, 'policy.json');
  writeFileSync(config, JSON.stringify({
    policy: {
      rules: [
        { action: 'allow', ops: ['connect'], cidr: server.host, ports: server.sink },
        { action: 'allow', ops: ['connect'], cidr: server.host, ports: server.echo },
        { action: 'allow', ops: ['sendto'], cidr: server.host, ports: server.udpEcho },
      ],
    },
  }, null, 2));
  const logFile = join(dir, 'linsockd.log');
  let daemon: { child: ChildProcess; ready: Ready } | null = null;
  let paths = ['direct', 'delegated'];
  if (!existsSync(daemonScript())) {
    console.log(`linsockd is not built yet (${daemonScript()} is missing: daemon/cli.ts has not landed); running the direct path only.\n`);
    paths = ['direct'];
  } else {
    try {
      daemon = await startDaemon(config, logFile);
    } catch (first) {
      // Most often another linsockd holds the default guest socket or trace port: use private ones.
      console.log(`linsockd could not start on its defaults (${(first as Error).message}); trying a private guest socket and a free trace port.`);
      try {
        daemon = await startDaemon(config, logFile, ['--guest-socket', join(dir, 'guest.sock'), '--trace-port', '0', '--token-file', join(dir, 'token')]);
      } catch (err) {
        console.log(`linsockd could not start: ${(err as Error).message}; running the direct path only.\n`);
        paths = ['direct'];
      }
    }
  }
  const stopAll = (): void => {
    daemon?.child.kill('SIGTERM');
    serverChild.kill('SIGTERM');
  };
  try {
    for (const workload of BENCH_WORKLOADS) {
      const { report, results } = await runBench({ workload: workload as Workload, paths, seconds: SECONDS, trace: true, mode: null, daemon: daemon?.ready.guest, server });
      process.stdout.write(`${formatTable(report, results)}\n`);
    }
  } catch (err) {
    console.error(`linsock start: ${(err as Error).message}`);
  }
  if (!daemon) {
    stopAll();
    return 1;
  }
  const d = daemon;
  console.log(`linsockd keeps running (pid ${d.child.pid}); Ctrl-C stops it.
  trace stream:  ${d.ready.trace}  (token in ${d.ready.tokenFile})
  guest socket:  ${d.ready.guest}   (guests: LINSOCK_CHANNEL=${d.ready.guest})
  policy:        ${config} (allows the bench server ${server.host}:${server.sink},${server.echo}/tcp ${server.udpEcho}/udp)
  daemon log:    ${logFile}`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      stopAll();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    d.child.once('exit', (code) => {
      console.error(`linsockd exited (code ${code}); see ${logFile}`);
      serverChild.kill('SIGTERM');
      resolve(1);
    });
  });
}
