// The connection's life as a pure state machine: events in, the next state and effects out. The driver
// (daemon-connection.ts) performs the effects (open a socket, arm a timer, tell the user); keeping the rules
// here lets them be tested without sockets, timers or VS Code.

import { CloseCode } from '../protocol';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/**
 * Why a connection failed. `unauthorized`, `bad-version` and `bad-url` cannot heal by waiting: the user must
 * change something, so they stop reconnecting. The others may pass (daemon restarting, network blip);
 * `protocol` (the daemon sent what the trace stream does not allow, or went silent) is retried with backoff,
 * which grows until a session proves healthy.
 */
export type FailureKind = 'unauthorized' | 'bad-version' | 'bad-url' | 'unreachable' | 'dropped' | 'protocol';

export interface Failure {
  kind: FailureKind;
  /** What happened, in words for the log and the user. */
  detail: string;
}

export const isFatal = (f: Failure): boolean => f.kind === 'unauthorized' || f.kind === 'bad-version' || f.kind === 'bad-url';

export type ConnectionEvent =
  | { type: 'connect' }
  | { type: 'opened' }
  /** The session stayed up long enough and the daemon answered: only now the backoff starts over. */
  | { type: 'healthy' }
  | { type: 'failed'; failure: Failure }
  | { type: 'retryDue' }
  | { type: 'disconnect' };

export type Effect =
  | { type: 'open' }
  | { type: 'close' }
  | { type: 'scheduleRetry'; delayMs: number }
  | { type: 'cancelRetry' }
  | { type: 'resetBackoff' }
  /** Tell the user; `retrying` says whether the machine goes on trying by itself. */
  | { type: 'report'; failure: Failure; retrying: boolean };

export interface Machine {
  state: ConnectionState;
  /** A socket attempt is in flight (in `connecting`, or in `reconnecting` after the timer fired). */
  attempting: boolean;
}

export const INITIAL: Machine = { state: 'disconnected', attempting: false };

/**
 * The rules. A first connection that fails is reported and stops: the user asked for it and should hear at
 * once that the daemon is not there. A connection that was up and dropped retries with backoff until the
 * user disconnects or a failure says that waiting cannot help.
 */
export function step(m: Machine, e: ConnectionEvent, nextDelay: () => number): { machine: Machine; effects: Effect[] } {
  const to = (state: ConnectionState, attempting: boolean, effects: Effect[]) => ({ machine: { state, attempting }, effects });
  switch (e.type) {
    case 'connect':
      if (m.state === 'disconnected') return to('connecting', true, [{ type: 'open' }]);
      // Impatient user while waiting out a backoff: try now.
      if (m.state === 'reconnecting' && !m.attempting) return to('reconnecting', true, [{ type: 'cancelRetry' }, { type: 'open' }]);
      return to(m.state, m.attempting, []);
    case 'opened':
      // No backoff reset here: a daemon that drops every session right after hello must not be redialled
      // at the first delay forever.
      if (m.state === 'connecting' || m.state === 'reconnecting') return to('connected', false, []);
      return to(m.state, m.attempting, []);
    case 'healthy':
      return to(m.state, m.attempting, m.state === 'connected' ? [{ type: 'resetBackoff' }] : []);
    case 'failed': {
      if (m.state === 'disconnected') return to(m.state, false, []);
      if (isFatal(e.failure)) return to('disconnected', false, [{ type: 'close' }, { type: 'cancelRetry' }, { type: 'report', failure: e.failure, retrying: false }]);
      if (m.state === 'connecting') return to('disconnected', false, [{ type: 'close' }, { type: 'report', failure: e.failure, retrying: false }]);
      // Dropped while up, or another failed attempt while reconnecting: wait, then try again.
      const effects: Effect[] = [{ type: 'close' }, { type: 'scheduleRetry', delayMs: nextDelay() }];
      if (m.state === 'connected') effects.push({ type: 'report', failure: e.failure, retrying: true });
      return to('reconnecting', false, effects);
    }
    case 'retryDue':
      if (m.state === 'reconnecting' && !m.attempting) return to('reconnecting', true, [{ type: 'open' }]);
      return to(m.state, m.attempting, []);
    case 'disconnect':
      if (m.state === 'disconnected') return to(m.state, false, []);
      return to('disconnected', false, [{ type: 'cancelRetry' }, { type: 'close' }]);
  }
}

/** What the socket layer saw when a connection failed or closed. */
export interface FailureFacts {
  /** HTTP status of a refused upgrade. */
  httpStatus?: number;
  /** WebSocket close code. */
  closeCode?: number;
  closeReason?: string;
  /** Node error code (ECONNREFUSED, ENOTFOUND, ...). */
  errorCode?: string;
  /** Error reply code from the daemon (trace-stream.ts ServerMessage 'error'). */
  serverCode?: string;
  message?: string;
  /** The URL could not be parsed or is not ws:// or wss://. */
  invalidUrl?: boolean;
  /** The daemon answered hello with another protocol version. */
  peerProtocol?: number;
  /** The daemon broke the trace stream protocol (a malformed or unexpected message) or stopped answering. */
  protocolError?: string;
}

export function classifyFailure(f: FailureFacts): Failure {
  const said = f.message ?? f.closeReason ?? '';
  if (f.invalidUrl) return { kind: 'bad-url', detail: said || 'the URL is not a ws:// or wss:// URL' };
  if (f.httpStatus === 401 || f.closeCode === CloseCode.unauthorized || f.serverCode === 'unauthorized')
    return { kind: 'unauthorized', detail: said || 'the daemon refused the token' };
  if (f.peerProtocol !== undefined || f.closeCode === CloseCode.badVersion || f.serverCode === 'bad-version')
    return { kind: 'bad-version', detail: said || `the daemon speaks trace protocol ${f.peerProtocol ?? 'of another version'}` };
  if (f.protocolError !== undefined) return { kind: 'protocol', detail: f.protocolError };
  if (f.httpStatus !== undefined) return { kind: 'bad-url', detail: said || `the server answered HTTP ${f.httpStatus}: no Linsock trace stream at this URL` };
  if (f.errorCode === 'ENOTFOUND' || f.errorCode === 'EAI_AGAIN' || f.errorCode === 'ERR_INVALID_URL')
    return { kind: 'bad-url', detail: said || `the host name does not resolve (${f.errorCode})` };
  if (f.errorCode === 'ECONNREFUSED' || f.errorCode === 'ETIMEDOUT' || f.errorCode === 'EHOSTUNREACH')
    return { kind: 'unreachable', detail: said || `nothing answers at this address (${f.errorCode})` };
  if (f.closeCode === CloseCode.tooSlow) return { kind: 'dropped', detail: 'the daemon closed the stream because this client read too slowly' };
  return { kind: 'dropped', detail: said || (f.closeCode !== undefined ? `the connection closed (code ${f.closeCode})` : 'the connection closed') };
}
