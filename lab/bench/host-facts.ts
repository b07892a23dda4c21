// What a run states about where it ran (RunInfo.host): kernel, CPU, MTU, and the emulated NIC's mode and
// offloads — MTU and offloads change emulated throughput several times over. Each path's MTU is the one
// its bytes crossed: loopback for direct and delegated (host sockets to 127.0.0.1), the TAPs' for emulated.

import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import type { HostFacts, Path } from '../../protocol';
import type { NicProfile } from '../device-model/nic-mode';

export function loopbackMtu(): number {
  try {
    return Number(readFileSync('/sys/class/net/lo/mtu', 'utf8').trim()) || 65536;
  } catch {
    return 65536;
  }
}

/** `paths`: the run's; an emulated path that did not come up has no MTU. */
export function hostFacts(emulated: NicProfile | null, paths: readonly Path[] = []): HostFacts {
  const list = cpus();
  const pathMtu: Partial<Record<Path, number>> = {};
  for (const p of paths) {
    if (p !== 'emulated') pathMtu[p] = loopbackMtu();
    else if (emulated) pathMtu[p] = emulated.mtu;
  }
  return {
    kernel: release(),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    mtu: emulated ? emulated.mtu : loopbackMtu(),
    mode: emulated ? emulated.mode : null,
    offloads: emulated ? [...emulated.offloads] : [],
    pathMtu,
  };
}
