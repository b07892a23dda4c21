// The host's stamps of one traced call or pushed event, waiting for the guest's half (call-trace.ts).
import type { CallResult, Op } from '../../protocol';
import type { ReplyStamp } from '../channel/channel-out';

export class CallStamps implements ReplyStamp {
  result: CallResult = 'ok';
  bytes = 0;
  execEnd = 0;
  replyOut = 0;
  /** A pipelined send (noReply): the guest returned when it queued the frame; there is no reply. */
  noReply = false;
  /** Corked writes of this call not yet written (the writev at the end of the loop turn); done() waits for them. */
  pendingWrites = 0;
  /** Bytes of this call in the corked writes. */
  writeBytes = 0;
  /** When this call's share of that writev ended; execute runs to it. */
  writeEnd = 0;
  /** The writev served other calls too: execute holds this call's share, split by bytes. */
  sharedWrite = false;
  /** Pushed data read from a host socket: Node does not expose when that read began (execute not measured). */
  readUnmeasured = false;
  constructor(
    /** The request id, or the event id of pushed data (`pushed`). */
    readonly id: number,
    public handle: number,
    readonly op: Op,
    readonly pushed: boolean,
    /** When the frame was decoded (0 for pushed events). */
    readonly receive: number,
    readonly execStart: number,
  ) {}
}
