// This host's own addresses and its subnets' broadcast addresses, as the policy and the bind check need
// them: read from the interfaces (node:os) and kept for a few seconds, so that a call costs a lookup,
// not a walk of the interfaces, and an address added meanwhile is known soon.
import { networkInterfaces } from 'node:os';
import { parseAddress } from './address-range';

const TTL_MS = 5000;

export class HostAddresses {
  private own = new Set<string>();
  private broadcast = new Set<string>();
  private at = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  private refresh(): void {
    if (this.now() - this.at < TTL_MS) return;
    this.at = this.now();
    const own = new Set<string>();
    const broadcast = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        const addr = parseAddress(a.address);
        if (!addr) continue;
        own.add(key(addr));
        if (addr.family === 4 && a.netmask) {
          const mask = parseAddress(a.netmask);
          if (mask && mask.value !== 0xffffffffn) broadcast.add(key({ family: 4, value: addr.value | (~mask.value & 0xffffffffn) }));
        }
      }
    }
    this.own = own;
    this.broadcast = broadcast;
  }

  /** An address of one of this host's interfaces (loopback included). */
  isOwn(address: string): boolean {
    const a = parseAddress(address);
    if (!a) return false;
    this.refresh();
    return this.own.has(key(a));
  }

  /** The broadcast address of one of this host's IPv4 subnets. */
  isSubnetBroadcast(address: string): boolean {
    const a = parseAddress(address);
    if (!a || a.family !== 4) return false;
    this.refresh();
    return this.broadcast.has(key(a));
  }

  /** Whether the kernel would let a socket bind `address`: a wildcard, any 127.x, or one of this host's. */
  bindable(address: string): boolean {
    const a = parseAddress(address);
    if (!a) return false;
    if (a.value === 0n) return true;
    if (a.family === 4 && a.value >> 24n === 127n) return true;
    return this.isOwn(address);
  }
}

function key(a: { family: number; value: bigint }): string {
  return `${a.family}/${a.value.toString(16)}`;
}
