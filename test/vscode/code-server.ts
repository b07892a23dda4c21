// Runs a real VS Code (code-server 4.100.3, installed by install-code-server.sh) and a real Chromium for
// the extension's end-to-end tests, per shared/notes/vscode-e2e.md. Everything lives in a temporary
// folder; stop() ends code-server's whole process group (extension hosts outlive a plain kill).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export function codeServerEntry(root: string): string {
  const dir = process.env.LINSOCK_CODE_SERVER_DIR ?? join(root, '.cache', 'code-server');
  return join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface CodeServer {
  port: number;
  userDataDir: string;
  extensionsDir: string;
  /** The workbench URL for `folder`, with the given launch payload (extensionDevelopmentPath, ...). */
  url(folder: string, payload?: [string, string][]): string;
  /** `vscode-remote://` URI of a path on this machine, as payloads want them. */
  remote(path: string): string;
  log(): string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  root: string;
  /** Temporary folder for config, data and cache. */
  tmp: string;
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
}

export async function startCodeServer(o: CodeServerOptions): Promise<CodeServer> {
  const entry = codeServerEntry(o.root);
  if (!existsSync(entry)) throw new Error(`code-server is not installed at ${entry}: run test/vscode/install-code-server.sh (needs the Debian packages ripgrep and libkrb5-dev)`);
  const port = await freePort();
  const userDataDir = join(o.tmp, 'user-data');
  const extensionsDir = join(o.tmp, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ 'workbench.startupEditor': 'none', 'remote.autoForwardPorts': false, 'extensions.autoUpdate': false, 'extensions.autoCheckUpdates': false, 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off', ...o.settings }, null, 2),
  );
  const xdg = (name: string) => {
    const d = join(o.tmp, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const args = [
    entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir,
  ];
  let log = '';
  // detached: its own process group, so stop() reaches the extension hosts it forks.
  const proc: ChildProcess = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_CONFIG_HOME: xdg('config'), XDG_DATA_HOME: xdg('data'), XDG_CACHE_HOME: xdg('cache'), ...o.env },
  });
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    try {
      process.kill(-proc.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    if (!killed) {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    }
    // Extension hosts may linger a moment after their parent: make sure the group is empty.
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      /* the group is empty */
    }
  };
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited with ${proc.exitCode}: ${log}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() - t0 > 30_000) {
      await stop();
      throw new Error(`code-server did not answer /healthz within 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const remote = (path: string) => `vscode-remote://127.0.0.1:${port}${path}`;
  return {
    port,
    userDataDir,
    extensionsDir,
    remote,
    url: (folder, payload) => `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`,
    log: () => log,
    stop,
  };
}

/** Playwright gives each launch a fresh temporary profile. */
export async function launchChromium(): Promise<{ browser: Browser; page: Page }> {
  const executablePath = process.env.LINSOCK_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`Chromium is missing at ${executablePath}: apt-get install chromium`);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  return { browser, page };
}
