// The details of the selected call: every stage with its times and duration, bytes, result, socket,
// guest, and the frames it caused (emulated path), each frame with its own times.

import { FRAME_DIRECTIONS, OPS, PATHS } from '../protocol/trace';
import { VIEW_STAGES } from './view-stages';
import type { CallStore } from './call-store';
import { formatDuration } from './format';
import { formatBytes } from '../protocol/format-bytes';
import { tableRow } from './table-row';

export function linkedFrames(store: CallStore, s: number): number[] {
  const out: number[] = [];
  const f = store.linkFirst[s]!;
  for (let i = 0; i < store.linkCount[s]!; i++) {
    const fr = store.frameOfSeq(store.linkSeq[f + i]!);
    if (fr >= 0) out.push(fr);
  }
  return out;
}

export function renderDetails(el: HTMLElement, store: CallStore, s: number): void {
  el.replaceChildren();
  if (s < 0 || s >= store.count) {
    el.textContent = 'Click a call (or press , and . after selecting one) to see its stages.';
    return;
  }
  const base = store.base ?? 0;
  const start = store.start[s]!;
  const h = document.createElement('h3');
  h.textContent = `${OPS[store.op[s]!]} on ${PATHS[store.path[s]!]} — ${formatDuration(store.end[s]! - start)}`;
  const facts = document.createElement('dl');
  const fact = (k: string, v: string) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    facts.append(dt, dd);
  };
  fact('seq', String(store.seq[s]));
  fact('guest', store.guests.values[store.guest[s]!] ?? '?');
  fact('socket', `#${store.socket[s]}`);
  fact('bytes', `${store.bytes[s]} (${formatBytes(store.bytes[s]!)})`);
  fact('result', store.results.values[store.result[s]!] ?? '?');
  fact('start', `${formatDuration(start)} after the first call (host ${Math.round(base + start)} ns)`);

  const table = document.createElement('table');
  table.className = 'stages';
  table.append(tableRow('th', ['stage', 'start', 'end', 'duration', '']));
  const f = store.stageFirst[s]!;
  const total = Math.max(1, store.end[s]! - start);
  for (let j = 0; j < store.stageCount[s]!; j++) {
    const a = store.stageStart[f + j]!;
    const b = store.stageEnd[f + j]!;
    const stage = VIEW_STAGES[store.stageName[f + j]!];
    const name = stage?.name ?? '?';
    const tr = tableRow('td', [stage?.label ?? name, `+${formatDuration(a)}`, `+${formatDuration(b)}`, formatDuration(b - a), '']);
    const bar = document.createElement('span');
    bar.className = `stage-bar stage-${name}`;
    bar.style.marginLeft = `${(a / total) * 100}%`;
    bar.style.width = `${Math.max(0.5, ((b - a) / total) * 100)}%`;
    tr.lastElementChild!.append(bar);
    table.append(tr);
  }
  el.append(h, facts, table);

  const n = store.linkCount[s]!;
  if (n > 0) {
    const fh = document.createElement('h4');
    const frames = linkedFrames(store, s);
    fh.textContent = `Frames caused: ${n}${frames.length < n ? ` (${n - frames.length} not in view: not received or dropped)` : ''}`;
    const ft = document.createElement('table');
    ft.className = 'frames';
    ft.append(tableRow('th', ['seq', 'direction', 'length', 'into device model', 'time in model']));
    for (const fr of frames.slice(0, 200))
      ft.append(tableRow('td', [String(store.frameSeq[fr]), FRAME_DIRECTIONS[store.frameDirection[fr]!] ?? '?', `${store.frameLength[fr]} B`, `+${formatDuration(store.frameIn[fr]! - start)}`, formatDuration(store.frameOut[fr]! - store.frameIn[fr]!)]));
    el.append(fh, ft);
  }
}

/** One-line summary for the hover tooltip. */
export function tooltipText(store: CallStore, s: number): string {
  const stages: string[] = [];
  const f = store.stageFirst[s]!;
  for (let j = 0; j < store.stageCount[s]!; j++) stages.push(`${VIEW_STAGES[store.stageName[f + j]!]?.label ?? '?'} ${formatDuration(store.stageEnd[f + j]! - store.stageStart[f + j]!)}`);
  return `${OPS[store.op[s]!]} ${PATHS[store.path[s]!]} ${store.guests.values[store.guest[s]!]} #${store.socket[s]} — ${formatDuration(store.end[s]! - store.start[s]!)}, ${store.bytes[s]} B, ${store.results.values[store.result[s]!]}\n${stages.join(' · ')}`;
}
