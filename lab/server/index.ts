// The lab's host server, for the bench runner and tests.
export { startBenchServer, type BenchServer, type BenchServerPorts, type SinkReport } from './bench-server';
