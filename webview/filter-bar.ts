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
  private readonly opPick: Dropdown;
  private readonly pathPick: Dropdown;
  private readonly guestPick: Dropdown;
  private readonly resultPick: Dropdown;
  private readonly followBox: HTMLElement & { checked: boolean };
  /** The guest and result counts (and picks) the dropdowns were last filled for. */
  private pickersFor = '';

  constructor(f: CallFilter, follow: boolean, a: FilterBarActions) {
    this.element.className = 'toolbar';
    this.opPick = dropdown('Operation', [{ value: '', label: 'any op' }, ...OPS.map((o) => ({ value: o, label: o }))], (v) => a.setFilter({ op: v }));
    this.pathPick = dropdown('Path', [{ value: '', label: 'any path' }, ...PATHS.map((p) => ({ value: p, label: p }))], (v) => a.setFilter({ path: v }));
    this.guestPick = dropdown('Guest', [ANY_GUEST], (v) => a.setFilter({ guest: v }));
    this.resultPick = dropdown('Result', [ANY_RESULT], (v) => a.setFilter({ result: v }));
    this.opPick.value = f.op;
    this.pathPick.value = f.path;
    this.followBox = checkbox('Follow live', follow, (v) => a.setFollow(v));
    this.element.append(
      textField('Search: op, guest, #socket, errno…', f.text, (v) => a.setFilter({ text: v }), 22),
      this.opPick.element,
      this.pathPick.element,
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

  /**
   * Offers the guests and results seen so far, and shows the filter's picks. A restored filter (the page
   * reloads whenever VS Code hides it) may name a guest or result no record has brought yet, and a
   * dropdown drops a value it has no option for, or one set before its new options are in place: so the
   * picks are always among the options and are re-asserted until the dropdowns show them.
   */
  updatePickers(store: CallStore, f: CallFilter): void {
    const key = `${store.guests.values.length}/${store.results.values.length}/${f.guest}/${f.result}`;
    if (key !== this.pickersFor) {
      this.pickersFor = key;
      this.guestPick.setOptions([ANY_GUEST, ...withPick(store.guests.values, f.guest).map((g) => ({ value: g, label: g }))]);
      this.resultPick.setOptions([ANY_RESULT, ...withPick(store.results.values, f.result).map((r) => ({ value: r, label: r }))]);
    }
    for (const [d, v] of [[this.opPick, f.op], [this.pathPick, f.path], [this.guestPick, f.guest], [this.resultPick, f.result]] as const)
      if (d.value !== v) d.value = v;
  }
}

/** The names seen, plus the filter's pick when no record has brought it yet. */
function withPick(seen: readonly string[], pick: string): readonly string[] {
  return pick === '' || seen.includes(pick) ? seen : [...seen, pick];
}
