// The lab's host server, for the bench runner and tests.
export { startBenchServer, type BenchServer, type BenchServerOptions, type BenchServerPorts, type CreateTcpServer, type SinkReport } from './bench-server';
