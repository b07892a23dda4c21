// The emulated path of a lab run: guests with their own kernel stack whose NIC is a TAP, the host's TAP,
// and the device model between them. guest kernel -> guest TAP -> device model -> host TAP -> host kernel.
// Addresses: 10.199.X.1/24 on the host TAP, .2, .3... on the guests, X picked unused per path. No default
// route and IPv6 off on every lab interface, so nothing but the lab's own traffic crosses the relay.

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { DeviceModel, type FrameSink } from '../device-model/device-model';
import { nicProfile, type NicMode, type NicProfile } from '../device-model/nic-mode';
import { TapPort } from '../device-model/tap-port';
import type { Guest, LabRun } from '../netns';

export interface EmulatedPathOptions {
  mode: NicMode;
  /** MTU of every TAP on the path; default 1500. */
  mtu?: number;
  /** Where frame records go; none when omitted or disabled. */
  sink?: FrameSink | null;
  /** Role of the first guest (its namespace is `<run>-<role>`); default `emu`. */
  role?: string;
  /** The run id stamped into frame records (a bench run's); the lab run's name by default. */
  runId?: string;
}

export interface EmulatedGuest {
  guest: Guest;
  address: string;
  /** The TAP's name inside the guest namespace. */
  tap: string;
}

export interface EmulatedPath {
  /** The first guest and its address. */
  guest: Guest;
  guestAddress: string;
  /** Where a host server must listen for emulated guests to reach it (the host TAP's address). */
  hostAddress: string;
  hostTap: string;
  profile: NicProfile;
  relay: DeviceModel;
  /** Another emulated guest on the same switch (inter-guest workloads). */
  addGuest(role: string): Promise<EmulatedGuest>;
  /** Stops the relay and removes the TAPs (the guest namespaces go with the run). Idempotent. */
  close(): Promise<void>;
}

const GUEST_TAP = 'eth0';
let pathCount = 0;

function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** The 10.199.X subnets in use on interfaces of this namespace, by X, with the devices using each. */
async function subnetsInUse(): Promise<Map<number, string[]>> {
  const used = new Map<number, string[]>();
  for (const m of (await ip(['-4', '-o', 'addr'])).matchAll(/^\d+:\s+(\S+)\s+inet 10\.199\.(\d+)\./gm)) {
    const x = Number(m[2]);
    used.set(x, [...(used.get(x) ?? []), m[1]!]);
  }
  return used;
}

/**
 * Gives `dev` the address 10.199.X.1/24 for an X no other interface uses. Other lab runs may pick at
 * the same moment, so after adding it checks again and moves on when another device shares the subnet.
 */
async function claimSubnet(dev: string): Promise<number> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const used = await subnetsInUse();
    const free: number[] = [];
    for (let x = 1; x <= 254; x++) if (!used.has(x)) free.push(x);
    if (free.length === 0) break;
    const x = free[Math.floor(Math.random() * free.length)]!;
    await ip(['addr', 'add', `10.199.${x}.1/24`, 'dev', dev]);
    const now = (await subnetsInUse()).get(x) ?? [];
    if (now.length === 1) return x;
    await ip(['addr', 'del', `10.199.${x}.1/24`, 'dev', dev]);
    await new Promise((r) => setTimeout(r, Math.random() * 50));
  }
  throw new Error('found no free subnet in 10.199.0.0/16 for the emulated path (all in use, or contended)');
}

/** Before the link comes up, so that no IPv6 autoconfiguration frame ever crosses the relay. */
function disableIpv6(dev: string): void {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // no IPv6 in this kernel: nothing to disable
  }
}

export async function startEmulatedPath(run: LabRun, opts: EmulatedPathOptions): Promise<EmulatedPath> {
  const profile = nicProfile(opts.mode, opts.mtu);
  const relay = new DeviceModel(profile, opts.runId ?? run.name, opts.sink ?? null);
  const ports: TapPort[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const p of ports.splice(0)) {
      relay.detach(p);
      p.close();
    }
  };
  run.onTeardown(close);

  const host = TapPort.open({ name: `${run.name}h${pathCount++ % 100}`, nsPath: '', guest: null, profile });
  ports.push(host);
  try {
    disableIpv6(host.name);
    await ip(['link', 'set', host.name, 'mtu', String(profile.mtu), 'up']);
    const subnet = await claimSubnet(host.name);
    const hostAddress = `10.199.${subnet}.1`;
    relay.attach(host);

    let next = 2;
    const addGuest = async (role: string): Promise<EmulatedGuest> => {
      if (closed) throw new Error('the emulated path is closed');
      if (next > 254) throw new Error('the emulated segment is full (253 guests)');
      const address = `10.199.${subnet}.${next++}`;
      const guest = await run.addGuest(role, 'emulated');
      await run.exec(guest, 'sysctl', ['-qew', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      const port = TapPort.open({ name: GUEST_TAP, nsPath: guest.nsPath, guest: guest.role, profile });
      ports.push(port);
      await ip(['-n', guest.netns, 'link', 'set', port.name, 'mtu', String(profile.mtu), 'up']);
      await ip(['-n', guest.netns, 'addr', 'add', `${address}/24`, 'dev', port.name]);
      relay.attach(port);
      return { guest, address, tap: port.name };
    };

    const first = await addGuest(opts.role ?? 'emu');
    return { guest: first.guest, guestAddress: first.address, hostAddress, hostTap: host.name, profile, relay, addGuest, close };
  } catch (e) {
    await close();
    throw e;
  }
}
