// Debian's nginx as a test and bench subject: a configuration for one run, everything under a prefix of
// its own (pid, logs, temp paths; Debian's compiled-in /var/lib/nginx is never touched), in the foreground
// (`daemon off`) so that `linsock run` supervises it, with a master and `workers` workers, epoll and sendfile.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface NginxSite {
  /** A directory of its own: nginx.conf, logs and temp paths go there. */
  prefix: string;
  /** The files it serves. */
  root: string;
  host: string;
  port: number;
  workers: number;
}

/** Writes `prefix`/nginx.conf for `site` and returns its path. */
export function writeNginxConf(site: NginxSite): string {
  if (!Number.isInteger(site.port) || site.port < 1 || site.port > 65535) throw new Error(`nginx: bad port ${site.port}`);
  if (!Number.isInteger(site.workers) || site.workers < 1) throw new Error(`nginx: bad worker count ${site.workers}`);
  const p = (name: string): string => join(site.prefix, name);
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(p(d), { recursive: true });
  const conf = [
    'daemon off;',
    'master_process on;',
    `worker_processes ${site.workers};`,
    // As root the workers would switch to nobody, who may not read a private temp root.
    process.getuid?.() === 0 ? 'user root;' : '',
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    'events { worker_connections 512; use epoll; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  keepalive_requests 1000000;',
    '  default_type application/octet-stream;',
    ...['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((d) => `  ${d === 'body' ? 'client_body' : d}_temp_path ${p(d)};`),
    `  server { listen ${site.host}:${site.port}; root ${site.root}; add_header X-Worker $pid; }`,
    '}',
    '',
  ].join('\n');
  const file = p('nginx.conf');
  writeFileSync(file, conf);
  return file;
}

export interface HostNginx {
  /** Resolves once it accepts connections on its port; rejects with its stderr if it ended first. */
  ready: Promise<void>;
  stop: () => Promise<void>;
}

/** Starts nginx on the host (not through `linsock run`) for `site`: the server a guest's curl downloads from. */
export function startHostNginx(site: NginxSite): HostNginx {
  const conf = writeNginxConf(site);
  const child = spawn('nginx', ['-p', site.prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`nginx: ${e.message} (install it: apt-get install -y nginx)`)));
    const deadline = Date.now() + 10_000;
    const probe = (): void => {
      if (child.exitCode !== null) return reject(new Error(`nginx ended (${child.exitCode}): ${err.trim()}`));
      const s = connect(site.port, site.host, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => (Date.now() > deadline ? reject(new Error(`nginx does not listen on ${site.host}:${site.port}: ${err.trim()}`)) : setTimeout(probe, 50)));
    };
    probe();
  });
  return {
    ready,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
