// The emulated path for the rest of the lab. In a LabRun (lab/netns.ts):
//   const support = await emulatedPathSupport();          // { ok:false, reason } -> report the path unavailable
//   const path = await startEmulatedPath(run, { mode: 'virtio', sink });   // sink: a daemon TraceSink, or none
//   // a host server listens on path.hostAddress (10.199.X.1, never 0.0.0.0); the workload runs in the guest:
//   run.spawn(path.guest, cmd, args)                        // reaches path.hostAddress through the relay
//   const b = await path.addGuest('b')                      // inter-guest: b.address on the same switch
//   await path.close()                                      // or leave it to run.teardown()
// The device model runs in the process that calls startEmulatedPath, on its event loop.
export { startEmulatedPath, type EmulatedGuest, type EmulatedPath, type EmulatedPathOptions } from './emulated-path';
export { emulatedPathSupport, type EmulatedSupport } from './availability';
export { DeviceModel, type DeviceCounters, type FrameSink } from '../device-model/device-model';
export { NIC_MODES, nicProfile, type NicMode, type NicProfile } from '../device-model/nic-mode';
export { framesOfCall, type CallFlow } from '../device-model/frame-links';
