// inter-guest with two QEMU VMs: VM A serves the bench sink, VM B streams to it, every byte checksummed.
//   emulated          A and B on QEMU NICs (e1000 or virtio-net) whose TAPs a bridge joins in a namespace
//                     made for the run (vm-bridge.ts): VM kernel → NIC → host bridge → NIC → VM kernel.
//   delegated         A listens and B connects through linsockd on their virtio-serial channels; the daemon
//                     joins its two guests with its same-host shortcut.
//   delegated-kernel  the same through a linsockd with the shortcut off: the host kernel's loopback.
// Both VMs' channel ports connect to one path, a symlink moved from one daemon's guest socket to the
// other's between the delegated rows (QEMU reconnects within a second; the agents say HELLO again).

import { rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchDaemon, type BenchDaemon } from '../bench/bench-daemon';
import type { AccelChoice } from './accel';
import type { VmPath } from './agent-protocol';
import { runFolder } from './leftovers';
import { bootVm, NIC_MODES, type NicMode, type Vm } from './machine';
import { vmRatios, type VmBenchReport, type VmBenchRow } from './vm-report';
import { bridgeTaps, type VmBridge } from './vm-bridge';

const LOOPBACK = '127.0.0.1';
const VM_MTU = 1500;

export interface InterVmOptions {
  paths: VmPath[];
  mode: NicMode;
  seconds: number;
  accel?: AccelChoice;
}

/** The address VM B takes in VM A's subnet (A has the TAP's guest address, .2). */
function peerAddress(a: string): string {
  return a.replace(/\.\d+$/, '.3');
}

export async function runInterVm(o: InterVmOptions): Promise<VmBenchReport> {
  const emulated = o.paths.includes('emulated');
  const delegated = o.paths.includes('delegated');
  const dir = runFolder(tmpdir(), 'linsock-vmbench');
  const channel = join(dir, 'guest.sock');
  const runId = `vm-inter-${process.pid}`;
  let a: Vm | null = null;
  let b: Vm | null = null;
  let bridge: VmBridge | null = null;
  let daemon: BenchDaemon | null = null;
  const results: VmBenchRow[] = [];
  try {
    a = await bootVm({ nic: emulated ? o.mode : null, channelSocket: delegated ? channel : null, accel: o.accel, alsoRemove: [dir] });
    b = await bootVm({ nic: emulated ? o.mode : null, nicAddress: a.nic ? peerAddress(a.nic.guestAddress) : undefined, channelSocket: delegated ? channel : null, accel: o.accel });
    const [va, vb] = [a, b];
    for (const path of o.paths) {
      if (path === 'emulated') {
        if (!va.nic || !vb.nic) throw new Error('the emulated path needs both VMs\' NICs');
        bridge = await bridgeTaps([va.nic.tap, vb.nic.tap]);
        const row = await stream(va, vb, 'emulated', va.nic.guestAddress, o.seconds, vb.nic.guestAddress);
        row.ranIn = `vm ${vb.name} -> vm ${va.name}: QEMU ${NIC_MODES[o.mode].device} NICs, TAPs bridged in netns ${bridge.netns}`;
        row.notes.push(NIC_MODES[o.mode].profile);
        results.push(row);
        continue;
      }
      for (const shortcut of [true, false]) {
        await daemon?.close();
        daemon = await startBenchDaemon({ sink: null, trace: false, run: runId, shortcut });
        rmSync(channel, { force: true });
        symlinkSync(daemon.guestPath, channel);
        await Promise.all([va, vb].map((vm) => vm.agent.request({ op: 'channel', guest: vm.name, trace: false }, 30_000)));
        const d = daemon;
        const row = await stream(va, vb, 'delegated', LOOPBACK, o.seconds, undefined, (port) => d.allow('connect', LOOPBACK, port));
        row.path = shortcut ? 'delegated' : 'delegated-kernel';
        row.ranIn = `vm ${vb.name} -> vm ${va.name} through linsockd over virtio-serial, shortcut ${shortcut ? 'on' : 'off'}`;
        results.push(row);
      }
    }
  } finally {
    await b?.close();
    await a?.close();
    await bridge?.remove();
    await daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return report(o, a, results);
}

/** VM A serves on `host`, VM B streams to it for `seconds`; A stops serving after. */
async function stream(a: Vm, b: Vm, path: VmPath, host: string, seconds: number, local?: string, allow?: (port: number) => void): Promise<VmBenchRow> {
  const { sink } = await a.agent.serve({ path, host }, 30_000);
  try {
    allow?.(sink);
    const row = await b.agent.request({ op: 'run', workload: 'stream', path, target: { host, port: sink, seconds, ...(local ? { local } : {}) } }, (seconds + 60) * 1000);
    if (!row) throw new Error(`VM ${b.name} returned no result for inter-guest on ${path}`);
    return row;
  } finally {
    await a.agent.request({ op: 'unserve' }, 30_000);
  }
}

function report(o: InterVmOptions, vm: Vm, results: VmBenchRow[]): VmBenchReport {
  const notes = [`${vm.accel.toUpperCase()}${vm.accelNote ? ` (${vm.accelNote})` : ''}; two VMs, -smp 1 each; guest kernel ${vm.kernel}`, 'inter-guest is not traced in a VM'];
  return {
    workload: 'inter-guest',
    mode: o.mode,
    mtu: VM_MTU,
    guest: 'vm',
    accel: vm.accel,
    results,
    ratios: vmRatios(results),
    notes,
    kernel: vm.kernel,
  };
}
