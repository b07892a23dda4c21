// The viewer's panels, one line each, in tab order. A new panel is a file implementing ViewerPanel
// (panel.ts) and a line here; the viewer core never names a panel.

import { ComparePanel } from './compare-panel';
import type { PanelContext, ViewerPanel } from './panel';
import { TimelinePanel } from './timeline-panel';

export const PANELS: readonly (new (context: PanelContext) => ViewerPanel)[] = [
  ComparePanel,
  TimelinePanel,
];

/** The panel shown when no tab was saved. */
export const FIRST_PANEL = 'timeline';

