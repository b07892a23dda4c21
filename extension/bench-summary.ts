// A comparison run's report in one line, for the notification and the log.

import type { BenchReport } from '../protocol';

/** "delegated: 715 MB/s · emulated: 124 MB/s — delegated/emulated 5.77×"; latency when there is no throughput. */
export function describeReport(r: BenchReport): string {
  const rows = r.results.map((x) => `${x.path}: ${x.mb_per_s !== null ? `${x.mb_per_s.toFixed(0)} MB/s` : x.p50_us !== null ? `p50 ${x.p50_us.toFixed(1)} µs` : `${x.calls} calls`}${x.verified ? '' : ' (NOT verified)'}`);
  const ratios = Object.entries(r.ratios).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${(v as number).toFixed(2)}×`);
  return [rows.join(' · '), ratios.join(' · ')].filter(Boolean).join(' — ');
}
