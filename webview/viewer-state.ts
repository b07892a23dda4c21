// The viewer's saved state (getState/setState, so it survives hiding and reloads): restored from what
// the host kept, with defaults for what is missing or stale, and written at most every 200 ms.

import type { ViewerState } from '../protocol/webview-messages';
import { EMPTY_FILTER } from './call-filter';

/** The state to start from: `saved` where it holds, else defaults (PanelChoice checks the tab). */
export function restoreState(saved: Partial<ViewerState> | undefined, firstTab: string): ViewerState {
  return {
    tab: typeof saved?.tab === 'string' ? saved.tab : firstTab,
    window: saved?.window ?? null,
    follow: saved?.follow ?? true,
    filter: { ...EMPTY_FILTER, ...(saved?.filter ?? {}) },
    selectedSeq: saved?.selectedSeq ?? null,
    compare: { run: typeof saved?.compare?.run === 'string' ? saved.compare.run : null, against: typeof saved?.compare?.against === 'string' ? saved.compare.against : null },
  };
}

/** Debounces saves: the first request schedules one write `delayMs` later; requests until then join it. */
export class StateSaver {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly write: () => void,
    private readonly delayMs = 200,
  ) {}

  soon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write();
    }, this.delayMs);
  }
}
