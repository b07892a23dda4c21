// Keyboard bindings as tables: a binding holds its keys, how the help writes them, what it does and the
// action, so the help overlay and the handlers cannot drift apart. Routing tries the viewer's table, then
// the shown panel's. Pure (no DOM): the Node tests drive it with plain objects.

/** The parts of a KeyboardEvent that routing and actions read. */
export interface KeyPress {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target?: unknown;
}

export interface KeyBinding {
  /** KeyboardEvent.key values that trigger it; none for a help row about a gesture (wheel, drag). */
  readonly keys: readonly string[];
  /** How the help overlay writes the keys ("W / ↑"). */
  readonly label: string;
  readonly help: string;
  /** Runs the action; returning false passes the key on to the next binding (Esc closes the help and goes on). */
  run(press: KeyPress): boolean | void;
}

/** Keys typed into these go to the field, not to the viewer. */
const TYPING = /^(INPUT|TEXTAREA|VSCODE-TEXT-FIELD|VSCODE-DROPDOWN)$/;

export function isTyping(target: unknown): boolean {
  const tag = typeof target === 'object' && target !== null ? (target as { tagName?: unknown }).tagName : undefined;
  return typeof tag === 'string' && TYPING.test(tag);
}

/**
 * Runs the bindings of `tables`, in order, that match the press until one handles it; true when one did
 * (the caller then prevents the browser's default). Chords with Ctrl, Cmd or Alt belong to VS Code.
 */
export function routeKey(press: KeyPress, tables: readonly (readonly KeyBinding[])[]): boolean {
  if (press.ctrlKey || press.metaKey || press.altKey || isTyping(press.target)) return false;
  for (const table of tables) for (const b of table) if (b.keys.includes(press.key) && b.run(press) !== false) return true;
  return false;
}

/** Keys bound more than once across tables that are active together (Esc may pass on, so it is allowed). */
export function duplicateKeys(tables: readonly (readonly KeyBinding[])[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const table of tables) for (const b of table) for (const k of b.keys) {
    if (k !== 'Escape' && seen.has(k)) dup.add(k);
    seen.add(k);
  }
  return [...dup];
}

/** The viewer's own keys: the help overlay, Esc, and a letter per panel that has one (C, T). */
export function viewerKeys(
  panels: readonly { id: string; title: string; key?: string }[],
  actions: { toggleHelp(force?: boolean): void; pick(id: string): void },
): KeyBinding[] {
  const out: KeyBinding[] = [];
  for (const p of panels) {
    if (!p.key) continue;
    out.push({ keys: [p.key.toLowerCase(), p.key.toUpperCase()], label: p.key.toUpperCase(), help: `${p.title} tab`, run: () => actions.pick(p.id) });
  }
  out.push(
    { keys: ['?'], label: '?', help: 'show or hide this overlay', run: () => actions.toggleHelp() },
    // closes the overlay and passes Esc on: the shown panel clears its selection too
    { keys: ['Escape'], label: 'Esc', help: 'close this overlay', run: () => (actions.toggleHelp(false), false) },
  );
  return out;
}
