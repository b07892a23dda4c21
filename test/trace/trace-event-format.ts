// A checker for the Chrome Trace Event Format (the JSON that Perfetto UI and chrome://tracing load), as
// far as Linsock's exports use it: required fields per phase, X events that nest on each thread in the
// doubles a viewer computes (end = ts + dur, also after shifting the thread's times by its first ts, as
// speedscope does) with no zero-length X, flow start/finish pairs that bind inside slices or at instants,
// and names for every process and thread. Returns problems.

type Ev = Record<string, unknown>;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function traceEventProblems(doc: unknown, limit = 20): string[] {
  const problems: string[] = [];
  const bad = (s: string): void => {
    if (problems.length < limit) problems.push(s);
  };
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as Ev).traceEvents)) return ['no traceEvents array'];
  const events = (doc as { traceEvents: Ev[] }).traceEvents;
  const procNames = new Set<number>();
  const threadNames = new Set<string>();
  const slices = new Map<string, { ts: number; dur: number; end: number; i: number }[]>();
  const flows = new Map<string, { s?: Ev; f?: Ev }>();
  const usedThreads = new Set<string>();
  const instants = new Map<string, Set<number>>();
  events.forEach((e, i) => {
    const at = `event ${i}`;
    if (typeof e.ph !== 'string') return bad(`${at}: no ph`);
    if (typeof e.name !== 'string') bad(`${at}: no name`);
    if (!num(e.pid)) bad(`${at}: pid is not a number`);
    const thread = `${String(e.pid)}/${String(e.tid)}`;
    switch (e.ph) {
      case 'M': {
        const args = e.args as Ev | undefined;
        if (e.name === 'process_name') {
          if (typeof args?.name !== 'string') bad(`${at}: process_name without args.name`);
          procNames.add(e.pid as number);
        } else if (e.name === 'thread_name') {
          if (!num(e.tid) || typeof args?.name !== 'string') bad(`${at}: thread_name without tid or args.name`);
          threadNames.add(thread);
        } else if (e.name === 'linsock_time_origin') {
          if (!num(args?.ns) || e.pid === undefined || i !== 0) bad(`${at}: the time origin must be the first event, with args.ns`);
        } else if (e.name === 'process_sort_index' || e.name === 'thread_sort_index') {
          if (!num(args?.sort_index)) bad(`${at}: ${e.name} without args.sort_index`);
        } else bad(`${at}: unknown metadata ${String(e.name)}`);
        break;
      }
      case 'X':
        if (!num(e.tid) || !num(e.ts) || !num(e.dur) || (e.dur as number) < 0) bad(`${at}: X needs tid, ts and dur >= 0`);
        if (e.dur === 0) bad(`${at}: zero-length X event (viewers cannot order it against its neighbours; an instant says it)`);
        usedThreads.add(thread);
        if (!slices.has(thread)) slices.set(thread, []);
        slices.get(thread)?.push({ ts: e.ts as number, dur: e.dur as number, end: (e.ts as number) + (e.dur as number), i });
        break;
      case 'i':
      case 'I':
        if (!num(e.ts) || !['g', 'p', 't', undefined].includes(e.s as string)) bad(`${at}: instant needs ts and s in g/p/t`);
        if (e.s === 't' || e.s === undefined) {
          if (!num(e.tid)) bad(`${at}: a thread instant needs tid`);
          usedThreads.add(thread);
          if (!instants.has(thread)) instants.set(thread, new Set());
          instants.get(thread)?.add(e.ts as number);
        }
        break;
      case 's':
      case 'f': {
        if (!num(e.tid) || !num(e.ts) || e.id === undefined || typeof e.cat !== 'string') bad(`${at}: flow needs tid, ts, id, cat`);
        if (e.ph === 'f' && e.bp !== undefined && e.bp !== 'e') bad(`${at}: bp must be "e"`);
        const key = `${String(e.cat)}|${String(e.name)}|${String(e.id)}`;
        const pair = flows.get(key) ?? {};
        if (pair[e.ph]) bad(`${at}: flow ${key} has two '${e.ph}' events`);
        pair[e.ph] = e;
        flows.set(key, pair);
        break;
      }
      default:
        bad(`${at}: unexpected phase ${e.ph}`);
    }
  });
  for (const pid of new Set([...usedThreads].map((t) => Number(t.split('/')[0])))) if (!procNames.has(pid)) bad(`pid ${pid} has no process_name`);
  for (const t of usedThreads) if (!threadNames.has(t)) bad(`thread ${t} has no thread_name`);
  // X events on one thread must nest: each either lies within the enclosing open slice or starts after it
  // ends, exactly in the doubles a viewer computes (no tolerance: an end one ulp past the next start is
  // what makes speedscope warn); checked as written and with the thread shifted to start at 0.
  for (const [thread, list] of slices) {
    const first = Math.min(...list.map((s) => s.ts));
    for (const shift of new Set([0, first])) {
      if (shift && problems.some((p) => p.startsWith(`thread ${thread}:`))) break; // one report per overlap
      const shifted = list.map((s) => ({ i: s.i, ts: s.ts - shift, end: s.ts - shift + s.dur }));
      shifted.sort((a, b) => a.ts - b.ts || b.end - a.end);
      const stack: { ts: number; end: number; i: number }[] = [];
      for (const s of shifted) {
        while (stack.length && (stack.at(-1) as { end: number }).end <= s.ts) stack.pop();
        const top = stack.at(-1);
        if (top && s.end > top.end) bad(`thread ${thread}${shift ? ` shifted by ${shift}` : ''}: event ${s.i} [${s.ts}, ${s.end}] overlaps event ${top.i} [${top.ts}, ${top.end}] without nesting`);
        stack.push(s);
      }
    }
  }
  const inSlice = (e: Ev): boolean =>
    instants.get(`${String(e.pid)}/${String(e.tid)}`)?.has(e.ts as number) === true ||
    (slices.get(`${String(e.pid)}/${String(e.tid)}`) ?? []).some((s) => s.ts <= (e.ts as number) && (e.ts as number) <= s.end);
  for (const [key, pair] of flows) {
    if (!pair.s || !pair.f) {
      bad(`flow ${key} lacks its ${pair.s ? 'finish (f)' : 'start (s)'}`);
      continue;
    }
    if (!inSlice(pair.s) || !inSlice(pair.f)) bad(`flow ${key} does not bind inside a slice at both ends`);
    if ((pair.f.ts as number) < (pair.s.ts as number)) bad(`flow ${key} ends before it starts`);
  }
  return problems;
}
