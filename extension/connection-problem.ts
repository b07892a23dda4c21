// What the status bar and the Linsock view say about the last thing that went wrong with the daemon:
// a short name and a title per kind of failure, and which failure is still worth showing. A failure is
// shown until a session is up again; a plain Disconnect afterwards does not bring an old one back.
// No VS Code API here: the callers translate the words.

import type { ConnectionState, Failure, FailureKind } from './connection-state';

/** A few words for the status bar, and a title for the view, per kind (English; callers pass them to l10n). */
export const PROBLEM_WORDS: Record<FailureKind, { short: string; title: string }> = {
  unreachable: { short: 'no daemon', title: 'Cannot reach the daemon' },
  dropped: { short: 'connection lost', title: 'The connection to the daemon dropped' },
  protocol: { short: 'faulty daemon', title: 'The daemon misbehaved: session ended' },
  unauthorized: { short: 'token refused', title: 'The daemon refused the token' },
  'bad-version': { short: 'version mismatch', title: 'The daemon speaks another trace protocol' },
  'bad-url': { short: 'no trace stream', title: 'No Linsock trace stream at this URL' },
};

/** Remembers which failure to show; one per view of it, fed the live state on each change. */
export class ProblemMemory {
  private seen: Failure | null = null;
  private shown: Failure | null = null;

  /** The failure to show now, given the connection's state and its last failure (kept by live-trace.ts). */
  update(state: ConnectionState, lastFailure: Failure | null): Failure | null {
    if (state === 'connected') {
      this.seen = lastFailure;
      this.shown = null;
    } else if (lastFailure !== this.seen) {
      this.seen = lastFailure;
      this.shown = lastFailure;
    }
    return this.shown;
  }
}
