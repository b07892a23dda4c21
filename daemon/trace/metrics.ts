// The daemon's figures in the Prometheus text exposition format (version 0.0.4), served at /metrics.

import type { DaemonStatus } from '../../protocol';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsInput extends DaemonStatus {
  frames: number;
  /** Datagrams and connections the daemon itself dropped (guest out of credit, accept backlog full). */
  networkDrops: number;
  subscribers: number;
  ringBytes: number;
}

interface Metric {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  value: number;
}

export function renderMetrics(s: MetricsInput): string {
  const metrics: Metric[] = [
    { name: 'linsock_calls_total', type: 'counter', help: 'Socket calls traced.', value: s.calls },
    { name: 'linsock_frames_total', type: 'counter', help: 'Emulated NIC frames traced.', value: s.frames },
    { name: 'linsock_bytes_total', type: 'counter', help: 'Payload bytes moved by traced calls.', value: s.bytes },
    { name: 'linsock_errors_total', type: 'counter', help: 'Traced calls that failed with an errno.', value: s.errors },
    { name: 'linsock_dropped_total', type: 'counter', help: 'Trace records skipped for slow subscribers.', value: s.drops },
    { name: 'linsock_network_dropped_total', type: 'counter', help: 'Datagrams and connections dropped for guests out of credit or backlog.', value: s.networkDrops },
    { name: 'linsock_calls_per_second', type: 'gauge', help: 'Traced calls per second over the last window.', value: s.callsPerSec },
    { name: 'linsock_guests', type: 'gauge', help: 'Guests connected to the delegation channel.', value: s.guests },
    { name: 'linsock_sockets', type: 'gauge', help: 'Host sockets open for guests.', value: s.sockets },
    { name: 'linsock_trace_subscribers', type: 'gauge', help: 'Live trace stream subscriptions.', value: s.subscribers },
    { name: 'linsock_ring_records', type: 'gauge', help: 'Records held in the trace ring.', value: s.ringUsed },
    { name: 'linsock_ring_capacity_records', type: 'gauge', help: 'Records the trace ring can hold.', value: s.ringSize },
    { name: 'linsock_ring_bytes', type: 'gauge', help: 'Encoded bytes held in the trace ring.', value: s.ringBytes },
    { name: 'linsock_tracing', type: 'gauge', help: '1 when tracing is on.', value: s.tracing ? 1 : 0 },
    { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident set size of linsockd.', value: s.rssBytes },
  ];
  return metrics.map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${Number.isFinite(m.value) ? m.value : 0}\n`).join('');
}
