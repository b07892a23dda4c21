// The side socket of the shared-memory channel (`<guest socket>.shm`): a guest whose HELLO was granted
// Capability.shm connects here once and sends its session's name with its region and doorbell attached
// (protocol/shm-attach.ts). Node never reads these connections (pauseOnConnect): the addon takes the one
// message with its descriptors (Node's reads would drop them). The session accepts the region only from
// the process on the other end of its own socket (SO_PEERCRED pids of both connections), so no other
// process can hand a guest's session a ring, whatever name it claims.
import type { Server, Socket } from 'node:net';
import { SHM_ATTACH_FDS, decodeAttach, regionBytes } from '../../protocol';
import { closeFd, isDoorbell, mapRegion, receiveFds, shmProblem } from '../../native/shm-channel';
import { peerCredentials } from '../../native/process-limits';
import type { Logger } from '../log';
import { listenUnix } from './guest-listener';

/** The largest ring a guest may share: its region is mapped into the daemon for the session's life. */
export const MAX_GUEST_RING_BYTES = 16 * 1024 * 1024;
/** How long a side connection may take to send its message (it sends right after connecting). */
const ATTACH_WAIT_MS = 1000;
const ATTACH_POLL_MS = 2;
/** Side connections waiting for their message at once; more are cut (a flood cannot pile up descriptors). */
const MAX_WAITING = 64;

/** Finds the session named `guest` and gives it the region; returns why not, or null. Owns `bell`. */
export type AttachShm = (guest: string, pid: number, region: Uint8Array, bell: number) => string | null;

/** Listens beside the guest socket; null (and a reason logged) when shared memory is unavailable here. */
export async function listenShmSide(path: string, attach: AttachShm, log: Logger): Promise<Server | null> {
  const problem = shmProblem();
  if (problem) {
    log.warn('guests keep the socket channel: shared memory is unavailable', { reason: problem });
    return null;
  }
  let waiting = 0;
  const onConnection = (socket: Socket): void => {
    socket.on('error', () => undefined);
    if (waiting >= MAX_WAITING) return void socket.destroy();
    waiting++;
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    const pid = peerCredentials(socket)?.pid ?? 0;
    const started = Date.now();
    const done = (why: string | null, guest?: string): void => {
      waiting--;
      socket.destroy();
      if (why) log.warn('shared-memory attach refused', { guest: guest ?? null, pid, reason: why });
    };
    const tryReceive = (): void => {
      if (socket.destroyed) return done('the side connection closed');
      let got;
      try {
        got = typeof fd === 'number' && fd >= 0 ? receiveFds(fd) : undefined;
      } catch (e) {
        return done((e as Error).message);
      }
      if (got === undefined) return done('the side connection has no descriptor');
      // Polled briefly, not watched: one message per guest, sent right after connecting.
      if (got === null) return Date.now() - started > ATTACH_WAIT_MS ? done('no attach message in time') : void setTimeout(tryReceive, ATTACH_POLL_MS);
      const { message, fds } = got;
      const [regionFd, bell] = fds;
      const refuse = (why: string, guest?: string): void => {
        for (const f of fds) closeFd(f);
        done(why, guest);
      };
      const a = decodeAttach(message);
      if (typeof a === 'string') return refuse(a);
      if (fds.length !== SHM_ATTACH_FDS || regionFd === undefined || bell === undefined) return refuse(`${fds.length} descriptors: expected ${SHM_ATTACH_FDS}`, a.guest);
      if (!isDoorbell(bell)) return refuse('the doorbell is not a datagram Unix socket', a.guest);
      let region: Uint8Array;
      try {
        region = mapRegion(regionFd, regionBytes(MAX_GUEST_RING_BYTES));
      } catch (e) {
        return refuse((e as Error).message, a.guest);
      }
      closeFd(regionFd);
      let why: string | null;
      try {
        why = attach(a.guest, pid, region, bell);
      } catch (e) {
        why = (e as Error).message;
      }
      if (why) closeFd(bell);
      done(why, a.guest);
    };
    tryReceive();
  };
  try {
    return await listenUnix(path, onConnection, { pauseOnConnect: true });
  } catch (e) {
    log.warn('guests keep the socket channel: the side socket could not listen', { path, error: (e as Error).message });
    return null;
  }
}
