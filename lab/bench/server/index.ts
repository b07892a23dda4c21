// The bench server (`linsock _server`): the host end every path's workload talks to.
export { startBenchServer, type BenchServer, type BenchServerOptions, type BenchServerPorts, type CreateTcpServer, type SinkReport } from './bench-server';
