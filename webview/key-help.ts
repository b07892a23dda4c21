// The keyboard help overlay ('?'): built from the same binding tables the keys are routed through,
// a section for the viewer and one per panel that has keys.

import type { KeyBinding } from './keymap';

export interface KeyHelpSection {
  title: string;
  keys: readonly KeyBinding[];
}

export function keyHelpOverlay(sections: readonly KeyHelpSection[]): HTMLElement {
  const o = document.createElement('div');
  o.className = 'shortcuts'; // the stylesheet's name for this overlay
  o.hidden = true;
  o.setAttribute('role', 'dialog');
  o.setAttribute('aria-label', 'Keyboard shortcuts');
  const h = document.createElement('h3');
  h.textContent = 'Keyboard shortcuts';
  const t = document.createElement('table');
  for (const s of sections) {
    if (s.keys.length === 0) continue;
    const head = document.createElement('th');
    head.colSpan = 2;
    head.textContent = s.title;
    const headRow = document.createElement('tr');
    headRow.append(head);
    t.append(headRow);
    for (const b of s.keys) {
      const tr = document.createElement('tr');
      const a = document.createElement('td');
      const kb = document.createElement('kbd');
      kb.textContent = b.label;
      a.append(kb);
      const d = document.createElement('td');
      d.textContent = b.help;
      tr.append(a, d);
      t.append(tr);
    }
  }
  o.append(h, t);
  return o;
}
