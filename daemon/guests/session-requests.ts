// A guest's socket calls from decoded frame to answer: each runs its handler (socket-calls.ts), is counted
// and, when traced, stamped; its answer goes back as a reply, or only as a socketError for a pipelined
// send (noReply). A send frame longer than the reads so far arrives in pieces and is still one call.
import { WIRE_LAYOUT, type Send, type SocketRequest, type WireMessage } from '../../protocol';
import type { ChannelOut } from '../channel/channel-out';
import { nowNs } from '../clock';
import { fail, type ReplyBody, type Respond } from '../sockets/host-handle';
import type { Counters } from '../sockets/session-context';
import { CallStamps } from '../trace/call-stamps';
import type { CallTracer } from '../trace/call-trace';
import { SOCKET_CALLS, type CallSession } from './socket-calls';

/** What the request path needs of the session besides what the handlers need. */
export interface RequestSession extends CallSession {
  readonly counters: Counters;
  readonly out: ChannelOut;
  /** Whether this guest's calls are traced now (a tracer, and the sink on). */
  readonly tracing: boolean;
  readonly tracer: CallTracer | null;
  /** The traced call whose handler runs now: the host writes it corks are attributed to it. */
  runningCall: CallStamps | null;
  isClosed(): boolean;
}

type AnyHandler = (s: CallSession, m: SocketRequest, respond: Respond) => void;

export class SessionRequests {
  /** The send frame whose data is arriving in pieces (see sendPiece). */
  private piece: { respond: Respond; call: CallStamps | null; bytes: number; failed: ReplyBody | null } | null = null;

  constructor(private readonly session: RequestSession) {}

  /** Runs one request decoded at `t` (0 when not tracing). */
  run(m: SocketRequest, t: number): void {
    if (m.type === 'send' && m.more !== undefined) return this.sendPiece(m, t);
    this.session.counters.calls++;
    const call = this.stamps(m, t);
    const respond = this.responder(m, call);
    this.session.runningCall = call ?? null;
    try {
      (SOCKET_CALLS[m.type] as AnyHandler)(this.session, m, respond);
    } finally {
      this.session.runningCall = null;
    }
  }

  private stamps(m: SocketRequest, t: number): CallStamps | undefined {
    if (!this.session.tracing) return undefined;
    const call = new CallStamps(m.id, m.handle, WIRE_LAYOUT[m.type].op, false, t, nowNs());
    if ('noReply' in m) call.noReply = m.noReply;
    return call;
  }

  /**
   * One piece of a send frame longer than the reads so far (FrameDecoderOptions.pieces): written to the host
   * socket as it comes, one call for the whole frame. Its pieces arrive back to back; after a failed piece
   * the rest are dropped, and the frame's answer is that failure.
   */
  private sendPiece(m: Send, t: number): void {
    let p = this.piece;
    if (!p) {
      this.session.counters.calls++;
      const call = this.stamps(m, t);
      p = this.piece = { respond: this.responder(m, call), call: call ?? null, bytes: 0, failed: null };
    }
    const piece = p;
    if (!piece.failed) {
      const h = this.session.sockets.get(m.handle);
      if (!h) piece.failed = fail('EBADF', `send: handle ${m.handle} is not an open socket of this guest`);
      else {
        this.session.runningCall = piece.call;
        try {
          h.send(m.data, m.noReply, (r, n) => {
            if (r.type === 'error') piece.failed = r;
            else piece.bytes += n ?? 0;
          });
        } finally {
          this.session.runningCall = null;
        }
      }
    }
    if (m.more) return;
    this.piece = null;
    piece.respond(piece.failed ?? { type: 'ok', value: piece.bytes }, piece.bytes);
  }

  private responder(m: SocketRequest, call: CallStamps | undefined): Respond {
    const noReply = 'noReply' in m && m.noReply;
    const s = this.session;
    return (r: ReplyBody, bytes?: number) => {
      if (r.type === 'error') s.counters.errors++;
      if (call) {
        call.execEnd = nowNs();
        call.bytes = bytes ?? 0;
        call.result = r.type === 'error' ? r.errno : 'ok';
        if (m.type === 'socket' && r.type === 'ok') call.handle = r.value;
      }
      if (s.isClosed()) return;
      if (noReply) {
        if (r.type === 'error') s.out.send({ type: 'socketError', id: m.id, handle: m.handle, errno: r.errno, message: r.message });
        // A send still corked is done once its writev ran (TurnWrites.flush).
        if (call && call.pendingWrites === 0) s.tracer?.done(call);
        return;
      }
      const reply: WireMessage = r.type === 'ok' ? { type: 'ok', id: m.id, handle: m.handle, value: r.value } : { ...r, id: m.id, handle: m.handle };
      s.out.send(reply, call);
    };
  }
}
