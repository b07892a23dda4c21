// What every guest TCP socket shares in each of its states (fresh, listening, connected, joined by the
// shortcut): TCP_NODELAY and SO_KEEPALIVE are kept with the handle, because Node cannot set them before a
// host socket exists, and carried into whatever the socket becomes (a listener's apply to its accepts).
import type { SockOpt } from '../../protocol';
import { BaseHandle } from './base-handle';
import { OK, type Respond } from './host-handle';
import type { SessionContext } from './session-context';

export interface TcpOptions {
  noDelay: boolean;
  keepAlive: boolean;
}

export abstract class TcpHandle extends BaseHandle {
  constructor(handle: number, ctx: SessionContext, protected readonly opts: TcpOptions) {
    super(handle, ctx);
  }

  /** Hands the kept options to a live host socket; states without one only keep them. */
  protected applyOptions(): void {}

  override setsockopt(option: SockOpt, value: number, respond: Respond): void {
    if (option === 'TCP_NODELAY') this.opts.noDelay = value !== 0;
    else if (option === 'SO_KEEPALIVE') this.opts.keepAlive = value !== 0;
    else return super.setsockopt(option, value, respond);
    this.applyOptions();
    respond(OK);
  }

  override getsockopt(option: SockOpt, respond: Respond): void {
    if (option === 'TCP_NODELAY') return respond({ type: 'ok', value: this.opts.noDelay ? 1 : 0 });
    if (option === 'SO_KEEPALIVE') return respond({ type: 'ok', value: this.opts.keepAlive ? 1 : 0 });
    super.getsockopt(option, respond);
  }
}
