// A comparison run's report in one line, for the notification and the log.

import { ratioField, ratioVerdict, verdictText, type BenchReport } from '../protocol';

/** "delegated: 715 MB/s · emulated: 124 MB/s — delegated 5.77× faster than emulated (throughput)"; latency when there is no throughput. */
export function describeReport(r: BenchReport): string {
  const rows = r.results.map((x) => `${x.path}: ${x.mb_per_s !== null ? `${x.mb_per_s.toFixed(0)} MB/s` : x.p50_us !== null ? `p50 ${x.p50_us.toFixed(1)} µs` : `${x.calls} calls`}${x.verified ? '' : ' (NOT verified)'}`);
  const field = ratioField(r.workload);
  const verdicts = Object.entries(r.ratios).flatMap(([k, v]) => {
    const said = ratioVerdict(k, v, field);
    return said ? [verdictText(said)] : [];
  });
  // A run without call records (a program under the interposer) says so: its figures are all there is.
  return [rows.join(' · '), verdicts.join(' · '), r.untraced ? 'calls not traced' : ''].filter(Boolean).join(' — ');
}
