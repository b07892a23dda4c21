// `linsock _workload SPEC_JSON`: one workload on one path (started by the bench runner).
export { workerMain as workloadCommand } from '../bench/worker';
