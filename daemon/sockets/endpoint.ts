// Conversions between Node's address shapes and the wire's Endpoint.
import { isIP } from 'node:net';
import type { Endpoint, Family } from '../../protocol';

/** An Endpoint from an address Node reported; the family comes from the address text itself. */
export function toEndpoint(address: string | undefined, port: number | undefined): Endpoint | null {
  if (!address) return null;
  const f = isIP(address);
  if (f === 0) return null;
  return { family: f as Family, address, port: port ?? 0 };
}

/** `a.b.c.d:port` or `[v6]:port`, for logs and the guests listing. */
export function formatEndpoint(e: Endpoint | null): string | null {
  if (!e) return null;
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The wildcard address of a family, where Node binds when the guest did not. */
export function anyAddress(family: Family): string {
  return family === 6 ? '::' : '0.0.0.0';
}
