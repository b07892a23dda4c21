// What a run states about where it ran (RunInfo.host): kernel, CPU, MTU, and the emulated NIC's mode and
// offloads — MTU and offloads change emulated throughput several times over.

import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import type { HostFacts } from '../../protocol';
import type { NicProfile } from '../device-model/nic-mode';

export function loopbackMtu(): number {
  try {
    return Number(readFileSync('/sys/class/net/lo/mtu', 'utf8').trim()) || 65536;
  } catch {
    return 65536;
  }
}

export function hostFacts(emulated: NicProfile | null): HostFacts {
  const list = cpus();
  return {
    kernel: release(),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    mtu: emulated ? emulated.mtu : loopbackMtu(),
    mode: emulated ? emulated.mode : null,
    offloads: emulated ? [...emulated.offloads] : [],
  };
}
