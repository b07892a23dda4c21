// The keyboard shortcut overlay ('?'): what each key does, in one place so the overlay and the
// handlers do not drift apart.

export const SHORTCUTS: [string, string][] = [
  ['W / ↑', 'zoom in (Shift: faster)'],
  ['S / ↓', 'zoom out (Shift: faster)'],
  ['A / ←', 'pan left (Shift: faster)'],
  ['D / →', 'pan right (Shift: faster)'],
  ['wheel, drag', 'zoom and pan; drag on the time axis selects a range'],
  ['PageUp / PageDown', 'scroll tracks'],
  ['F', 'fit everything'],
  ['Z', 'zoom to the selected range'],
  [', / .', 'previous / next call on the selected track'],
  ['N / Shift+N', 'next / previous match of the filter'],
  ['L', 'follow live on or off'],
  ['C', 'Compare tab; T: Timeline tab'],
  ['Esc', 'clear selection and range, close this overlay'],
  ['?', 'show or hide this overlay'],
];

export function shortcutOverlay(): HTMLElement {
  const o = document.createElement('div');
  o.className = 'shortcuts';
  o.hidden = true;
  o.setAttribute('role', 'dialog');
  o.setAttribute('aria-label', 'Keyboard shortcuts');
  const h = document.createElement('h3');
  h.textContent = 'Keyboard shortcuts';
  const t = document.createElement('table');
  for (const [k, v] of SHORTCUTS) {
    const tr = document.createElement('tr');
    const a = document.createElement('td');
    const kb = document.createElement('kbd');
    kb.textContent = k;
    a.append(kb);
    const b = document.createElement('td');
    b.textContent = v;
    tr.append(a, b);
    t.append(tr);
  }
  o.append(h, t);
  return o;
}
