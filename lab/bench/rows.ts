// Rows of a bench report as the runner builds them: what a path that could not run looks like, where an
// emulated workload ran, and the one-line progress summary of a row.

import type { EmulatedPath } from '../emulated';
import type { WorkloadResult } from './workload-result';

export function unavailableRow(path: string, why: string): WorkloadResult {
  return { path, mb_per_s: null, p50_us: null, p99_us: null, ops_per_s: null, calls: 0, bytes: 0, verified: false, ranIn: 'not run', notes: [why] };
}

export function emulatedRanIn(e: EmulatedPath, netns: string): string {
  const p = e.profile;
  return `netns ${netns} (TAP ${p.mode}, MTU ${p.mtu}, offloads ${p.offloads.join(',') || 'none'})`;
}

export function describe(r: WorkloadResult): string {
  const figs = r.mb_per_s !== null ? `${r.mb_per_s} MB/s` : r.p50_us !== null ? `p50 ${r.p50_us} µs, p99 ${r.p99_us} µs, ${r.ops_per_s} ops/s` : 'no figures';
  return `${r.path}: ${figs}, ${r.verified ? 'verified' : 'NOT verified'}, in ${r.ranIn}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`;
}
