// The Timeline panel's toolbar: search and filter fields, match stepping, follow live, fit, image saving,
// export and the keyboard help. Guests and results fill their dropdowns as records arrive.

import { OPS, PATHS } from '../protocol/trace';
import type { CallFilter } from './call-filter';
import type { CallStore } from './call-store';
import { button, checkbox, dropdown, textField, type Dropdown } from './toolkit';

export interface FilterBarActions {
  setFilter(patch: Partial<CallFilter>): void;
  stepMatch(dir: 1 | -1): void;
  setFollow(on: boolean): void;
  fit(): void;
  saveImage(format: 'png' | 'svg'): void;
  exportTrace(): void;
  toggleKeyHelp(): void;
}

const ANY_GUEST = { value: '', label: 'any guest' };
const ANY_RESULT = { value: '', label: 'any result' };

export class FilterBar {
  readonly element = document.createElement('div');
  private readonly guestPick: Dropdown;
  private readonly resultPick: Dropdown;
  private readonly followBox: HTMLElement & { checked: boolean };
  /** The guest and result counts the dropdowns were last filled for. */
  private pickersFor = '';

  constructor(f: CallFilter, follow: boolean, a: FilterBarActions) {
    this.element.className = 'toolbar';
    const opPick = dropdown('Operation', [{ value: '', label: 'any op' }, ...OPS.map((o) => ({ value: o, label: o }))], (v) => a.setFilter({ op: v }));
    const pathPick = dropdown('Path', [{ value: '', label: 'any path' }, ...PATHS.map((p) => ({ value: p, label: p }))], (v) => a.setFilter({ path: v }));
    this.guestPick = dropdown('Guest', [ANY_GUEST], (v) => a.setFilter({ guest: v }));
    this.resultPick = dropdown('Result', [ANY_RESULT], (v) => a.setFilter({ result: v }));
    opPick.value = f.op;
    pathPick.value = f.path;
    this.followBox = checkbox('Follow live', follow, (v) => a.setFollow(v));
    this.element.append(
      textField('Search: op, guest, #socket, errno…', f.text, (v) => a.setFilter({ text: v }), 22),
      opPick.element,
      pathPick.element,
      this.guestPick.element,
      this.resultPick.element,
      textField('socket', f.socket ?? '', (v) => a.setFilter({ socket: v.trim() }), 5),
      textField('min µs', f.minDurationUs ? String(f.minDurationUs) : '', (v) => a.setFilter({ minDurationUs: Math.max(0, Number(v) || 0) }), 6),
      button('◀', 'Previous match (Shift+N)', () => a.stepMatch(-1), 'icon'),
      button('▶', 'Next match (N)', () => a.stepMatch(1), 'icon'),
      this.followBox,
      button('Fit', 'Fit everything (F)', () => a.fit()),
      button('PNG', 'Save the current view as PNG', () => a.saveImage('png')),
      button('SVG', 'Save the current view as SVG', () => a.saveImage('svg')),
      button('Export…', 'Export the trace (.lstrace, Chrome JSON or CSV)', () => a.exportTrace()),
      button('?', 'Keyboard shortcuts (?)', () => a.toggleKeyHelp(), 'icon'),
    );
  }

  set follow(on: boolean) {
    if (this.followBox.checked !== on) this.followBox.checked = on;
  }

  /** Offers the guests and results seen so far, keeping the filter's picks. */
  updatePickers(store: CallStore, f: CallFilter): void {
    const key = `${store.guests.values.length}/${store.results.values.length}`;
    if (key === this.pickersFor) return;
    this.pickersFor = key;
    this.guestPick.setOptions([ANY_GUEST, ...store.guests.values.map((g) => ({ value: g, label: g }))]);
    this.resultPick.setOptions([ANY_RESULT, ...store.results.values.map((r) => ({ value: r, label: r }))]);
    this.guestPick.value = f.guest;
    this.resultPick.value = f.result;
  }
}
