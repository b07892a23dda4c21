// Conversions between Node's address shapes and the wire's Endpoint. Node writes a link-local peer with its
// zone, `fe80::1%veth0`; the wire carries the zone as the interface's index (Endpoint.scopeId), and a
// guest's scoped endpoint goes back to Node as `address%ifname`. Whatever the kernel hands over, the result
// is an endpoint the wire can carry, or null: the caller drops or fails that one thing.
import { isIP } from 'node:net';
import type { Endpoint, Family } from '../../protocol';
import { interfaceIndex, interfaceName } from '../../native/process-limits';

/** The interface index of a zone (`veth0` or `3`), or 0 when this host has no such interface. */
function zoneIndex(zone: string): number {
  if (/^\d{1,10}$/.test(zone)) {
    const n = Number(zone);
    return n <= 0xffffffff && interfaceName(n) !== null ? n : 0;
  }
  return interfaceIndex(zone) ?? 0;
}

/** An Endpoint from an address Node reported; null when it is not an IP address or its zone is unknown. */
export function toEndpoint(address: string | undefined, port: number | undefined): Endpoint | null {
  if (!address) return null;
  const zoneAt = address.indexOf('%');
  const bare = zoneAt >= 0 ? address.slice(0, zoneAt) : address;
  const f = isIP(bare);
  if (f === 0 || !Number.isInteger(port ?? 0) || (port ?? 0) < 0 || (port ?? 0) > 65535) return null;
  const e: Endpoint = { family: f as Family, address: bare, port: port ?? 0 };
  if (zoneAt < 0) return e;
  if (f !== 6) return null;
  const scopeId = zoneIndex(address.slice(zoneAt + 1));
  if (scopeId === 0) return null;
  e.scopeId = scopeId;
  return e;
}

/** The address text to hand Node for a guest's endpoint (`fe80::1%veth0`), or null when its scope names no interface. */
export function hostAddress(e: Endpoint): string | null {
  if (!e.scopeId) return e.address;
  const name = interfaceName(e.scopeId);
  return name === null ? null : `${e.address}%${name}`;
}

/** `a.b.c.d:port`, `[v6]:port` or `[v6%scope]:port`, for logs and the guests listing. */
export function formatEndpoint(e: Endpoint | null): string | null {
  if (!e) return null;
  if (e.family === 4) return `${e.address}:${e.port}`;
  return e.scopeId ? `[${e.address}%${e.scopeId}]:${e.port}` : `[${e.address}]:${e.port}`;
}

/** The wildcard address of a family, where Node binds when the guest did not. */
export function anyAddress(family: Family): string {
  return family === 6 ? '::' : '0.0.0.0';
}
