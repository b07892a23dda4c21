// The workloads' own call records (direct and emulated paths), from the socket call to the run's sink:
//   workload process  CallRecorder + recordingFactory wrap its sockets and write the call log (call-log.ts, fd 3)
//   bench runner      CallIntake reads that log and publishes the calls; on the emulated path it first links
//                     them to the frames they caused, which FrameLog keeps on their way to the sink.
export { CallRecorder, recordingFactory } from './call-recorder';
export { MAX_RECORDED_CALLS } from './call-log';
export { CallIntake } from './call-intake';
export { FrameLog, type LinkStats } from './frame-log';
