// The daemon's guest listeners as one step of starting it (the Unix socket, optionally TCP), and the few
// things both forms of the daemon (one process, or main process with workers) share around them.
import { existsSync, unlinkSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import type { GuestInfo } from '../protocol';
import { sendBufferProblem } from './channel/send-buffer';
import { defaultGuestSocketPath, listenTcp, listenUnix, parseHostPort, type HostPort } from './channel/guest-listener';
import type { Logger } from './log';

export interface ListenOptions {
  guestSocket?: string | null;
  guestTcp?: string | HostPort;
}

export interface GuestListeners {
  servers: Server[];
  guestPath: string | null;
  tcpAddress?: HostPort;
}

export async function listenForGuests(
  options: ListenOptions,
  accept: (transport: GuestInfo['transport']) => (socket: Socket) => void,
  log: Logger,
): Promise<GuestListeners> {
  const servers: Server[] = [];
  let guestPath: string | null = null;
  let tcpAddress: HostPort | undefined;
  try {
    if (options.guestSocket !== null) {
      guestPath = options.guestSocket ?? defaultGuestSocketPath();
      servers.push(await listenUnix(guestPath, accept('unix')));
    }
    if (options.guestTcp !== undefined) {
      const at = typeof options.guestTcp === 'string' ? parseHostPort(options.guestTcp) : options.guestTcp;
      const t = await listenTcp(at, accept('tcp'));
      servers.push(t.server);
      tcpAddress = t.address;
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  // Accept errors (EMFILE when the host runs out of descriptors) must not bring the daemon down.
  for (const srv of servers) srv.on('error', (err) => log.error('guest channel accept failed', { error: err.message }));
  log.info('guest channel listening', { unix: guestPath, tcp: tcpAddress ? `${tcpAddress.host}:${tcpAddress.port}` : null });
  const bufferProblem = sendBufferProblem();
  if (bufferProblem) log.warn('guest channels keep the kernel\'s default send buffer; pushed bulk data runs slower', { reason: bufferProblem });
  return { servers, guestPath, tcpAddress };
}

export function removeSocketFile(path: string | null): void {
  if (!path || !existsSync(path)) return;
  try {
    unlinkSync(path);
  } catch {
    // removed by someone else
  }
}

/** Calls per second over windows of at least a second, from a running total. */
export class CallRate {
  private lastCalls = 0;
  private lastAt = Date.now();
  private rate = 0;

  perSec(calls: number): number {
    const now = Date.now();
    if (now - this.lastAt >= 1000) {
      this.rate = ((calls - this.lastCalls) * 1000) / (now - this.lastAt);
      this.lastCalls = calls;
      this.lastAt = now;
    }
    return Math.round(this.rate);
  }
}
