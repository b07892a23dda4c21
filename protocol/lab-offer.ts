// Runtime checks of what the lab attached to a daemon (`linsock start`) says it runs (DaemonStatus.lab in
// the status reply, trace-stream.ts), of the VMs it lists (GuestInfo.vm in the guests reply) and of the
// report fields of VM and program runs; and the program names a run request may carry.

import { GUEST_KINDS, type GuestKind } from './trace-stream';

/** A program name on the wire: short, lower-case, no path (the lab checks it against its own list). */
export const PROGRAM_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isShort = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length <= max;
const listOf = (v: unknown, allowed: readonly string[]) => Array.isArray(v) && v.length <= 16 && v.every((x) => allowed.includes(x as string));
const WORKLOAD_NAMES = ['stream', 'rr', 'crr', 'udp-rr', 'inter-guest'];
const PATH_NAMES = ['direct', 'delegated', 'emulated'];

/** Why a `lab` field of a status reply is malformed, or null. */
export function labOfferProblem(v: unknown): string | null {
  if (!isObj(v) || !Array.isArray(v.guests) || !Array.isArray(v.programs)) return 'status.lab must be an object with guests and programs lists';
  if (v.guests.length > 8 || v.programs.length > 64) return 'status.lab lists too many guest kinds or programs';
  for (const g of v.guests as unknown[]) {
    if (!isObj(g) || !GUEST_KINDS.includes(g.kind as GuestKind)) return 'a status.lab guest kind is not ns or vm';
    if (g.unavailable !== null && !isShort(g.unavailable)) return `status.lab guest ${String(g.kind)}: unavailable must be a short text or null`;
    if (!listOf(g.workloads, WORKLOAD_NAMES) || !listOf(g.paths, PATH_NAMES) || !listOf(g.modes, ['e1000', 'virtio'])) return `status.lab guest ${String(g.kind)}: workloads, paths or modes malformed`;
  }
  for (const p of v.programs as unknown[]) {
    if (!isObj(p) || typeof p.name !== 'string' || !PROGRAM_NAME.test(p.name)) return 'a status.lab program has no valid name';
    if (!WORKLOAD_NAMES.includes(p.workload as string) || !listOf(p.paths, PATH_NAMES) || typeof p.traced !== 'boolean') return `status.lab program ${p.name}: workload, paths or traced malformed`;
    if (p.unavailable !== null && !isShort(p.unavailable)) return `status.lab program ${p.name}: unavailable must be a short text or null`;
  }
  return null;
}

/** Why a guest's `vm` field is malformed, or null. */
export function vmInfoProblem(v: unknown): string | null {
  if (!isObj(v)) return 'guest vm is not an object';
  if (v.state !== 'booting' && v.state !== 'running' && v.state !== 'stopping') return 'guest vm.state must be booting, running or stopping';
  if (v.accel !== null && v.accel !== 'kvm' && v.accel !== 'tcg') return 'guest vm.accel must be kvm, tcg or null';
  if (v.nic !== null && v.nic !== 'e1000' && v.nic !== 'virtio') return 'guest vm.nic must be e1000, virtio or null';
  if (typeof v.delegated !== 'boolean' || !isShort(v.runId, 255)) return 'guest vm.delegated or vm.runId malformed';
  return null;
}

/** Why the report fields a VM or program run adds (guest, accel, program, notes, untraced) are malformed, or null. */
export function reportExtrasProblem(r: Obj): string | null {
  if (r.guest !== undefined && !GUEST_KINDS.includes(r.guest as GuestKind)) return 'report.guest must be ns or vm';
  if (r.accel !== undefined && r.accel !== 'kvm' && r.accel !== 'tcg') return 'report.accel must be kvm or tcg';
  if (r.program !== undefined && !(typeof r.program === 'string' && PROGRAM_NAME.test(r.program))) return 'report.program is not a program name';
  if (r.notes !== undefined && !(Array.isArray(r.notes) && r.notes.length <= 32 && r.notes.every((n) => isShort(n)))) return 'report.notes must be a list of short texts';
  if (r.untraced !== undefined && !isShort(r.untraced)) return 'report.untraced must be a short text';
  return null;
}
