// What the timeline says about the call or frame under the pointer (tooltip) and about a picked frame
// (details pane): which call caused the frame, which bytes it carried, its times into and out of the
// device model. Stage names come from view-stages.ts, so derived emulated stages are named too.

import { FRAME_DIRECTIONS, OPS, PATHS } from '../protocol/trace';
import type { CallStore } from './call-store';
import { formatDuration } from './format';
import { VIEW_STAGES } from './view-stages';

export function callTooltip(store: CallStore, s: number): string {
  const stages: string[] = [];
  const f = store.stageFirst[s]!;
  for (let j = 0; j < store.stageCount[s]!; j++) stages.push(`${VIEW_STAGES[store.stageName[f + j]!]?.label ?? '?'} ${formatDuration(store.stageEnd[f + j]! - store.stageStart[f + j]!)}`);
  return `${OPS[store.op[s]!]} ${PATHS[store.path[s]!]} socket ${store.socket[s]} — ${formatDuration(store.end[s]! - store.start[s]!)}, ${store.bytes[s]} B, ${store.results.values[store.result[s]!]}\n${stages.join(' · ')}`;
}

/** The facts of frame slot `f` as label/value pairs (tooltip and details share them). */
export function frameFacts(store: CallStore, f: number): [string, string][] {
  const call = store.callOfFrame(f);
  const tIn = store.frameIn[f]!;
  const tOut = store.frameOut[f]!;
  const rel = (t: number) => (call >= 0 ? `+${formatDuration(t - store.start[call]!)} into the call` : formatDuration(t));
  return [
    ['frame', `#${store.frameSeq[f]} ${FRAME_DIRECTIONS[store.frameDirection[f]!] ?? '?'}`],
    ['bytes', `${store.frameLength[f]} B on the wire`],
    ['call', call >= 0 ? `${OPS[store.op[call]!]} #${store.seq[call]} on socket ${store.socket[call]} (${store.bytes[call]} B)` : 'none linked (not received, or dropped)'],
    ['in', rel(tIn)],
    ['out', rel(tOut)],
    ['device model', formatDuration(tOut - tIn)],
  ];
}

export function frameTooltip(store: CallStore, f: number): string {
  return frameFacts(store, f).map(([k, v]) => `${k}: ${v}`).join('\n');
}

/** The picked frame's facts, above the details of the call that caused it. */
export function renderFrameDetails(store: CallStore, f: number): HTMLElement {
  const box = document.createElement('div');
  box.className = 'frame-details';
  const h = document.createElement('h3');
  h.textContent = `Frame #${store.frameSeq[f]}`;
  const dl = document.createElement('dl');
  for (const [k, v] of frameFacts(store, f)) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
  box.append(h, dl);
  return box;
}
