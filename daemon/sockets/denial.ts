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
  respond(fail('EACCES', denialMessage(op, target, d.by)));
  return true;
}

/**
 * The EACCES text: what was denied, by which rule, and the rule that would allow exactly this (to put in
 * the config's policy.rules, before any rule that denies it). The message is clamped to 255 bytes on the
 * wire, so it stays short.
 */
export function denialMessage(op: PolicyOp, target: Endpoint, by: string): string {
  const allow = JSON.stringify({ action: 'allow', ops: [op], cidr: target.address, ports: target.port });
  return `${op} ${formatEndpoint(target)}: denied by policy (${by}); allowed by ${allow}`;
}

/**
 * The kernel's check of a bind address, then the policy's: only a wildcard or one of this host's
 * addresses can be bound (EADDRNOTAVAIL otherwise, as bind(2) answers), so that no guest can claim an
 * address that is not the host's, in the kernel or through the same-host shortcut.
 */
export function bindRefused(ctx: SessionContext, local: Endpoint, respond: Respond): boolean {
  if (!ctx.policy.canBind(local.address)) {
    respond(fail('EADDRNOTAVAIL', `bind ${formatEndpoint(local)}: not an address of this host`));
    return true;
  }
  return denied(ctx, 'bind', local, respond);
}
