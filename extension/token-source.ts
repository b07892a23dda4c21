// Finds the daemon's token. A local daemon's token file is the truth (it survives daemon restarts, and the
// file is re-read on each attempt); otherwise the token the user typed once, kept in SecretStorage.

import * as vscode from 'vscode';
import { daemonDefaultTokenFile, isLocalDaemon, readTokenFile } from './token-file';
import { readSettings } from './settings';

/** One secret per daemon address: two daemons on two machines have two tokens. */
function secretKey(url: string): string {
  try {
    const u = new URL(url);
    return `linsock.token:${u.host}`;
  } catch {
    return `linsock.token:${url}`;
  }
}

export class TokenSource {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Without asking anyone: the token file of a local daemon, else the stored secret. */
  async find(url: string): Promise<string | undefined> {
    if (isLocalDaemon(url)) {
      const file = readSettings().tokenFile || daemonDefaultTokenFile();
      try {
        const t = await readTokenFile(file);
        if (t) {
          this.log.trace(`token read from ${file}`);
          return t;
        }
      } catch (err) {
        this.log.warn((err as Error).message);
      }
    }
    return (await this.secrets.get(secretKey(url))) ?? undefined;
  }

  /** find(), else ask the user once and keep the answer. Undefined when the user gave up. */
  async findOrAsk(url: string): Promise<string | undefined> {
    return (await this.find(url)) ?? (await this.ask(url));
  }

  async ask(url: string): Promise<string | undefined> {
    const token = await vscode.window.showInputBox({
      title: vscode.l10n.t('Linsock: Daemon Token'),
      prompt: vscode.l10n.t('The token of linsockd at {0}: the content of the token file its ready line names.', url),
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim().length >= 16 ? null : vscode.l10n.t('A linsockd token has at least 16 characters.')),
    });
    if (!token) return undefined;
    await this.secrets.store(secretKey(url), token.trim());
    return token.trim();
  }

  /** After the daemon refused it: a stored token is wrong, so it is not offered again. */
  async forget(url: string): Promise<void> {
    await this.secrets.delete(secretKey(url));
  }
}
