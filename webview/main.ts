// Entry of the webview bundle (dist/webview.js): starts the viewer and wires the host's messages.

import type { ToViewer } from '../protocol/webview-messages';
import { TimelinePanel } from './timeline-panel';
import { TraceViewer } from './trace-viewer';
import { Host } from './vscode-api';

const host = new Host();
const root = document.getElementById('viewer') ?? document.body.appendChild(Object.assign(document.createElement('div'), { id: 'viewer' }));
const viewer = new TraceViewer(root, host);
const timelinePanel = viewer.panel(TimelinePanel);

window.addEventListener('message', (ev: MessageEvent<ToViewer>) => {
  const m = ev.data;
  if (typeof m !== 'object' || m === null || typeof m.type !== 'string') return;
  viewer.onMessage(m);
});

// Read-only handle for the browser tests and the benchmark: counts and frame timings, nothing to mutate.
(window as unknown as { linsockViewer: unknown }).linsockViewer = {
  get calls() {
    return viewer.store.count;
  },
  get frames() {
    return viewer.scheduler.frames;
  },
  frameTimes: () => Array.from(viewer.scheduler.recent.subarray(0, Math.min(viewer.scheduler.frames, viewer.scheduler.recent.length))),
  get stats() {
    return { ...timelinePanel.timeline.stats };
  },
  get window() {
    return [timelinePanel.timeline.t0, timelinePanel.timeline.t1];
  },
  get arrayBytes() {
    return viewer.store.arrayBytes + (timelinePanel.mask.mask?.byteLength ?? 0);
  },
  get state() {
    return viewer.currentState;
  },
  get selected() {
    return timelinePanel.timeline.selected;
  },
  /** The timeline's rows as laid out and drawn (content y; the canvas shows them from scrollY). */
  get rows() {
    const t = timelinePanel.timeline;
    return t.rowsLayout.rows.map((r) => ({ kind: r.kind, label: r.label, y: r.y - t.scrollY, h: r.h }));
  },
  /** The loaded file's trim: pending until the viewer is idle after drawing, and how long it took. */
  get trim() {
    return { pending: viewer.store.compactPending, ms: viewer.store.compactMs };
  },
};

host.post({ type: 'ready' });
