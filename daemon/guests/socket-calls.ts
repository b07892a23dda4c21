// The socket calls a guest may make, one handler per request type: a new op of the wire protocol
// (wire-layout.ts, a row with an `op`) is one handler here. The table is complete by type, so a request
// type without a handler does not compile.
import { lookup as dnsLookup } from 'node:dns';
import { MAX_LOOKUP_ADDRESSES, type Endpoint, type SocketRequest } from '../../protocol';
import { toEndpoint } from '../sockets/endpoint';
import { fail, OK, type HostHandle, type Respond } from '../sockets/host-handle';
import type { SameHostTable } from '../sockets/same-host-table';
import type { SessionContext } from '../sockets/session-context';
import { UdpSocket } from '../sockets/udp-socket';
import { UnconnectedTcp } from '../sockets/tcp-unconnected';
import type { HandleTable } from './handle-table';

/** What the handlers need of the guest session. */
export interface CallSession {
  /** The session as its sockets see it. */
  readonly context: SessionContext;
  readonly sockets: HandleTable;
  /** Guest listeners of the whole daemon, for the same-host shortcut; null when it is off. */
  readonly sameHost: SameHostTable | null;
  /** Starts a name lookup unless too many are in flight (false: answered EAGAIN). */
  startLookup(respond: Respond): boolean;
  lookupDone(): void;
}

type Request<T extends SocketRequest['type']> = Extract<SocketRequest, { type: T }>;
type Handler<T extends SocketRequest['type']> = (s: CallSession, m: Request<T>, respond: Respond) => void;

/** A handler for a call on an open socket: the guest's handle is looked up (EBADF when it names none). */
function onSocket<T extends SocketRequest['type']>(call: (h: HostHandle, m: Request<T>, respond: Respond, s: CallSession) => void): Handler<T> {
  return (s, m, respond) => {
    const h = s.sockets.get(m.handle);
    if (!h) return respond(fail('EBADF', `${m.type}: handle ${m.handle} is not an open socket of this guest`));
    call(h, m, respond, s);
  };
}

export const SOCKET_CALLS: { readonly [T in SocketRequest['type']]: Handler<T> } = {
  socket: (s, m, respond) => {
    const refused = s.sockets.refusal();
    const h = refused ? null : s.sockets.adopt((handle) => (m.kind === 'tcp' ? new UnconnectedTcp(handle, s.context, m.family, s.sameHost) : new UdpSocket(handle, s.context, m.family)));
    if (!h) return respond(fail('EMFILE', `socket: ${refused ?? s.sockets.refusal() ?? 'no handle'}`));
    respond({ type: 'ok', value: h.handle });
  },
  lookup: (s, m, respond) => {
    if (!s.startLookup(respond)) return;
    dnsLookup(m.hostname, { all: true, family: m.family }, (err, addresses) => {
      s.lookupDone();
      if (err) return respond(fail(err.code === 'EAI_AGAIN' ? 'EAI_AGAIN' : 'ENOTFOUND', `lookup ${m.hostname}: ${err.code ?? 'failed'}`));
      respond({
        type: 'lookupOk',
        // A resolver may answer a scoped address (fe80::1%eth0 from /etc/hosts): its zone becomes the scope id,
        // and one whose zone names no interface is left out rather than sent as something else.
        addresses: addresses.map((a) => toEndpoint(a.address, 0)).filter((e): e is Endpoint => e !== null).slice(0, MAX_LOOKUP_ADDRESSES),
      });
    });
  },
  connect: onSocket((h, m, respond) => h.connect(m.remote, respond)),
  bind: onSocket((h, m, respond) => h.bind(m.local, respond)),
  listen: onSocket((h, m, respond) => h.listen(m.backlog, respond)),
  send: onSocket((h, m, respond) => h.send(m.data, m.noReply, respond)),
  sendto: onSocket((h, m, respond) => h.sendto(m.remote, m.data, m.noReply, respond)),
  shutdown: onSocket((h, m, respond) => h.shutdown(m.how, respond)),
  setsockopt: onSocket((h, m, respond) => h.setsockopt(m.option, m.value, respond)),
  getsockopt: onSocket((h, m, respond) => h.getsockopt(m.option, respond)),
  getsockname: onSocket((h, _m, respond) => h.getsockname(respond)),
  getpeername: onSocket((h, _m, respond) => h.getpeername(respond)),
  close: onSocket((_h, m, respond, s) => {
    s.sockets.close(m.handle);
    respond(OK);
  }),
  // One send of all the buffers, joined (a frame's worth at most): on TCP one write, in order; on UDP one
  // datagram, to the address when there is one. Every socket kind's own send and sendto rules apply.
  sendmsg: onSocket((h, m, respond) => {
    if (m.remote && h.kind !== 'udp') return respond(fail('EISCONN', 'sendmsg: an address on a TCP socket'));
    const data = m.buffers.length === 1 ? (m.buffers[0] as Uint8Array) : Buffer.concat(m.buffers);
    if (m.remote) h.sendto(m.remote, data, m.noReply, respond);
    else h.send(data, m.noReply, respond);
  }),
};
