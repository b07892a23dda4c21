// The same-host shortcut's directory: which guest listeners of this daemon listen where, so that a guest
// connecting to one of them is joined to it in-process (same-host-stream.ts) instead of through the kernel.
// The listeners stay real host listeners: their ports are taken on the host, and peers outside the daemon
// still reach them through the kernel.
import { networkInterfaces } from 'node:os';
import type { Endpoint } from '../../protocol';
import type { SameHostStream } from './same-host-stream';

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range), for the connecting end's local port. */
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** How long the host's own addresses are trusted before they are read again. */
const ADDRESSES_TTL_MS = 5000;

/** A guest listener as the table sees it (tcp-listener.ts): one that can accept a same-host connection. */
export interface SameHostListener {
  /**
   * Accepts a connection from another guest of this daemon, joined in-process: returns this guest's end,
   * or null when it takes no more connections (the connect is refused, as by a full backlog).
   */
  acceptSameHost(remote: Endpoint, local: Endpoint): SameHostStream | null;
}

const key = (family: number, address: string, port: number): string => `${family}/${address}/${port}`;

export class SameHostTable {
  private readonly listeners = new Map<string, SameHostListener>();
  private nextPort = EPHEMERAL_LOW;
  private hostAddresses: Set<string> | null = null;
  private addressesAt = 0;

  add(at: Endpoint, listener: SameHostListener): void {
    this.listeners.set(key(at.family, at.address, at.port), listener);
  }

  remove(at: Endpoint, listener: SameHostListener): void {
    const k = key(at.family, at.address, at.port);
    if (this.listeners.get(k) === listener) this.listeners.delete(k);
  }

  get size(): number {
    return this.listeners.size;
  }

  /**
   * The guest listener a connect to `remote` would reach through the kernel: one bound to exactly that
   * address, or to the wildcard address of its family when `remote` is one of this host's addresses.
   */
  find(remote: Endpoint): SameHostListener | undefined {
    if (this.listeners.size === 0) return undefined;
    const exact = this.listeners.get(key(remote.family, remote.address, remote.port));
    if (exact) return exact;
    const any = this.listeners.get(key(remote.family, remote.family === 6 ? '::' : '0.0.0.0', remote.port));
    return any && this.isHostAddress(remote.address) ? any : undefined;
  }

  /** A local port for the connecting end, as the kernel would pick one (only ever reported, never bound). */
  ephemeralPort(): number {
    const p = this.nextPort;
    this.nextPort = p >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : p + 1;
    return p;
  }

  private isHostAddress(address: string): boolean {
    if (address.startsWith('127.') || address === '::1') return true;
    const now = Date.now();
    if (!this.hostAddresses || now - this.addressesAt > ADDRESSES_TTL_MS) {
      this.hostAddresses = new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
      this.addressesAt = now;
    }
    return this.hostAddresses.has(address);
  }
}
