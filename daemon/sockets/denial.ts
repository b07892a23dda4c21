// The policy check every connect, sendto and listen goes through: a denial answers EACCES and is logged,
// at most DENIALS_LOGGED_PER_SEC lines per guest and second so that a guest cannot flood the log.
import type { Endpoint } from '../../protocol';
import { formatEndpoint } from './endpoint';
import { fail, type Respond } from './host-handle';
import type { SessionContext } from './session-context';
import type { PolicyOp } from '../policy/policy';

const DENIALS_LOGGED_PER_SEC = 20;

interface LogWindow {
  start: number;
  logged: number;
  suppressed: number;
}
const windows = new WeakMap<SessionContext, LogWindow>();

/** True (and answered) when policy denies `op` to `target`. */
export function denied(ctx: SessionContext, op: PolicyOp, target: Endpoint, respond: Respond): boolean {
  const d = ctx.policy.check(op, target);
  if (d.allowed) return false;
  const where = formatEndpoint(target);
  const now = Date.now();
  let w = windows.get(ctx);
  if (!w || now - w.start >= 1000) {
    if (w && w.suppressed > 0) ctx.log.warn('policy denials not logged', { guest: ctx.guest, count: w.suppressed });
    w = { start: now, logged: 0, suppressed: 0 };
    windows.set(ctx, w);
  }
  if (w.logged < DENIALS_LOGGED_PER_SEC) {
    w.logged++;
    ctx.log.warn('policy denied', { guest: ctx.guest, op, target: where, by: d.by });
  } else w.suppressed++;
  respond(fail('EACCES', `${op} ${where}: denied by policy (${d.by})`));
  return true;
}
