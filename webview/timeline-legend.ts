// The timeline's colour key: a swatch and name per stage that some loaded call holds (and the frame
// directions once frames arrived). Rebuilt only when that set changes, so it costs nothing per frame.

import { FRAME_DIRECTIONS } from '../protocol/trace';
import type { CallStore } from './call-store';
import { VIEW_STAGES } from './view-stages';

export class StageLegend {
  readonly element = document.createElement('div');
  private shown = -1;
  /** Its height, measured when its items change (not per frame: reading layout after drawing forces one). */
  height = 0;

  constructor() {
    this.element.className = 'legend';
    this.element.setAttribute('aria-label', 'Stage colours');
  }

  update(store: CallStore): void {
    const key = store.stagesSeen * 2 + (store.frameCount > 0 ? 1 : 0);
    if (key === this.shown) return;
    this.shown = key;
    const items: HTMLElement[] = [];
    VIEW_STAGES.forEach((s, i) => {
      if (store.stagesSeen & (1 << i)) items.push(item(`stage-${s.name}`, s.label, s.name));
    });
    if (store.frameCount > 0) for (const d of FRAME_DIRECTIONS) items.push(item(`frame-${d}`, `frame ${d.replaceAll('-', ' ')}`, d));
    this.element.replaceChildren(...items);
    this.height = this.element.offsetHeight;
  }
}

function item(cls: string, label: string, name: string): HTMLElement {
  const el = document.createElement('span');
  el.className = 'legend-item';
  el.dataset.name = name;
  const sw = document.createElement('i');
  sw.className = `swatch ${cls}`;
  el.append(sw, label);
  return el;
}
