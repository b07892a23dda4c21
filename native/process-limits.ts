// The linsock_proc N-API addon (native/process-limits.c) typed: the descriptor limit, a Unix socket
// peer's credentials and network interface names <-> indices, which Node does not offer. Each answer says
// when the addon is missing, so that its caller can fall back and tell the user.

import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { loadAddon, type AddonSpec } from './addon';

type ProcAddon = {
  raiseFileLimit(): [number, number] | number;
  peerCredentials(fd: number): [number, number, number] | number;
  interfaceIndex(name: string): number;
  interfaceName(index: number): string | null;
};

const PROC: AddonSpec = { target: 'linsock_proc', pathVariable: 'LINSOCK_PROC_ADDON' };

function addon(): ProcAddon | null {
  const load = loadAddon<ProcAddon>(PROC);
  return load.ok ? load.addon : null;
}

/** Why the process addon is unavailable, or null. */
export function processAddonProblem(): string | null {
  const load = loadAddon<ProcAddon>(PROC);
  return load.ok ? null : load.reason;
}

/** Raises the soft RLIMIT_NOFILE to the hard one; the limits after it, or why not (a string). */
export function raiseFileLimit(): { soft: number; hard: number } | string {
  const a = addon();
  if (!a) return processAddonProblem() as string;
  const r = a.raiseFileLimit();
  if (typeof r === 'number') return `getrlimit failed: ${getSystemErrorName(r)}`;
  return { soft: r[0] < 0 ? Infinity : r[0], hard: r[1] < 0 ? Infinity : r[1] };
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The credentials of a connected Unix socket's peer, or null (no addon, no descriptor, not Unix). */
export function peerCredentials(socket: Socket): PeerCredentials | null {
  const a = addon();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!a || typeof fd !== 'number' || fd < 0) return null;
  const r = a.peerCredentials(fd);
  return typeof r === 'number' ? null : { pid: r[0], uid: r[1], gid: r[2] };
}

/** The index of the interface `name` in this network namespace; 0 when there is none; null without the addon. */
export function interfaceIndex(name: string): number | null {
  const a = addon();
  return a ? a.interfaceIndex(name) : null;
}

/** The name of interface `index`; null when there is none or without the addon. */
export function interfaceName(index: number): string | null {
  const a = addon();
  if (!a || !Number.isInteger(index) || index <= 0 || index > 0xffffffff) return null;
  return a.interfaceName(index);
}
