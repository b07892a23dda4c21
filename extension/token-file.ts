// Where linsockd keeps its token when started without --token-file, and reading it. The rule mirrors
// daemon/token.ts (defaultTokenFile), which the extension may not import; keep the two in step.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function daemonDefaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'linsock', 'token');
  if (process.getuid?.() === 0) return '/run/linsock/token';
  return join(homedir(), '.linsock', 'token');
}

/** True when `url` names this machine: only then can the daemon's token file be read here. */
export function isLocalDaemon(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** The token in `file`, or null when the file is missing or empty (other errors are thrown with the path). */
export async function readTokenFile(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the token file ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  return token.length > 0 ? token : null;
}
