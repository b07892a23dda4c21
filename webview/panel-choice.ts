// Which panel shows. The user's pick wins: once they chose a tab (a click or its key), the viewer no
// longer switches on its own (to Compare when a run has several paths, say). Restoring a saved tab
// counts as the user's pick, since they chose it before the reload.

import type { ViewerState } from '../protocol/webview-messages';

export class PanelChoice {
  /** True once the user chose a tab: the program's suggestions are ignored from then on. */
  userPicked: boolean;

  /**
   * `state.tab` is the restored tab, or `first` when nothing was saved (`restored` false). A saved tab that
   * no registered panel has (one removed since) gives way to `first`.
   */
  constructor(
    private readonly state: Pick<ViewerState, 'tab'>,
    private readonly ids: readonly string[],
    first: string,
    restored: boolean,
  ) {
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (twice.length) throw new Error(`viewer panels share an id: ${twice.join(', ')} (webview/panels.ts)`);
    this.check(first);
    const known = ids.includes(state.tab);
    if (!known) state.tab = first;
    this.userPicked = restored && known;
  }

  get current(): string {
    return this.state.tab;
  }

  /** The user chose `id`. Returns whether the shown panel changes. */
  pick(id: string): boolean {
    this.userPicked = true;
    return this.set(id);
  }

  /** The program wants `id` shown (an action that needs it). */
  show(id: string): boolean {
    return this.set(id);
  }

  /** The program proposes `id`; taken only while the user has not picked a tab. */
  suggest(id: string): boolean {
    return !this.userPicked && this.set(id);
  }

  private set(id: string): boolean {
    this.check(id);
    if (id === this.state.tab) return false;
    this.state.tab = id;
    return true;
  }

  private check(id: string): void {
    if (!this.ids.includes(id)) throw new Error(`no viewer panel "${id}" (panels: ${this.ids.join(', ')})`);
  }
}
