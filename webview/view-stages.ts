// The stages the viewer draws: the trace's own (protocol/trace.ts STAGES, same indices) and, after them,
// the stages the viewer derives for an emulated call from the frames it caused, so the emulated path's
// time breaks down into parts as the delegated path's does. A table, not a switch: a new derived stage is
// a row here (and a colour variable in media/viewer.css).

import { STAGES } from '../protocol/trace';

export interface ViewStage {
  /** Class and CSS variable suffix: `--ls-stage-<name>`. */
  readonly name: string;
  /** What the legend and the waterfall call it. */
  readonly label: string;
  /** Colour when the theme's stylesheet does not set one. */
  readonly fallback: string;
}

const TRACE_FALLBACK = ['#4e79a7', '#f28e2b', '#76b7b2', '#e15759', '#59a14f', '#edc948', '#b07aa1', '#9c755f'];
const TRACE_LABEL: Record<string, string> = {
  guest: 'guest library', 'channel-out': 'channel out', 'host-queue': 'host queue', execute: 'execute (host socket)',
  'reply-out': 'reply out', 'channel-in': 'channel in', 'guest-return': 'guest return', kernel: 'kernel',
};

export const VIEW_STAGES: readonly ViewStage[] = [
  ...STAGES.map((name, i) => ({ name, label: TRACE_LABEL[name] ?? name, fallback: TRACE_FALLBACK[i] ?? '#888' })),
  // emulated call, from its linked frames: guest kernel and TAP until the first frame enters the device
  // model, the device model until the last leaves it, the host side after (reversed for received data)
  { name: 'guest-tap', label: 'guest kernel + TAP', fallback: '#d37295' },
  { name: 'device-model', label: 'device model', fallback: '#499894' },
  { name: 'host-side', label: 'host side', fallback: '#a0cbe8' },
];

export const VIEW_STAGE_INDEX = new Map<string, number>(VIEW_STAGES.map((s, i) => [s.name, i]));
export const DERIVED = {
  guestTap: VIEW_STAGE_INDEX.get('guest-tap')!,
  deviceModel: VIEW_STAGE_INDEX.get('device-model')!,
  hostSide: VIEW_STAGE_INDEX.get('host-side')!,
};
