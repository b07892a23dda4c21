// The one module that knows @vscode/webview-ui-toolkit (deprecated upstream): it registers the
// components and offers small factories. Moving to @vscode-elements/elements means editing this file only.

import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodePanels(), vsCodePanelTab(), vsCodePanelView(), vsCodeTextField());
}

function el<K extends string>(tag: K, attrs: Record<string, string>, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function button(label: string, title: string, onClick: () => void, appearance: 'primary' | 'secondary' | 'icon' = 'secondary'): HTMLElement {
  const b = el('vscode-button', { appearance, title, 'aria-label': title }, label);
  b.addEventListener('click', onClick);
  return b;
}

export interface Dropdown {
  element: HTMLElement;
  value: string;
  setOptions(options: { value: string; label: string }[]): void;
}

/** A dropdown whose options can be replaced (guests and results appear as records arrive). */
export function dropdown(title: string, options: { value: string; label: string }[], onChange: (v: string) => void): Dropdown {
  const d = el('vscode-dropdown', { title, 'aria-label': title }) as HTMLElement & { value: string };
  const api: Dropdown = {
    element: d,
    get value() {
      return d.value;
    },
    set value(v: string) {
      d.value = v;
    },
    setOptions(opts) {
      const cur = d.value;
      const same = d.children.length === opts.length && opts.every((o, i) => (d.children[i] as HTMLElement).getAttribute('value') === o.value);
      if (same) return;
      d.replaceChildren(...opts.map((o) => el('vscode-option', { value: o.value }, o.label)));
      if (opts.some((o) => o.value === cur)) d.value = cur;
    },
  };
  api.setOptions(options);
  d.addEventListener('change', () => onChange(d.value));
  return api;
}

export function checkbox(label: string, checked: boolean, onChange: (v: boolean) => void): HTMLElement & { checked: boolean } {
  const c = el('vscode-checkbox', {}, label) as HTMLElement & { checked: boolean };
  c.checked = checked;
  c.addEventListener('change', () => onChange(c.checked));
  return c;
}

export function textField(placeholder: string, value: string, onInput: (v: string) => void, size = 18): HTMLElement & { value: string } {
  const t = el('vscode-text-field', { placeholder, size: String(size), 'aria-label': placeholder }) as HTMLElement & { value: string };
  t.value = value;
  t.addEventListener('input', () => onInput(t.value));
  return t;
}

export interface Tabs {
  element: HTMLElement;
  views: Record<string, HTMLElement>;
  select(id: string): void;
}

/** Tabs with a view each; `onSelect` fires when the user switches. */
export function tabs(items: { id: string; label: string }[], onSelect: (id: string) => void): Tabs {
  const panels = el('vscode-panels', { class: 'tabs' }) as HTMLElement & { activeid: string };
  const views: Record<string, HTMLElement> = {};
  for (const it of items) panels.append(el('vscode-panel-tab', { id: `tab-${it.id}` }, it.label));
  for (const it of items) {
    const v = el('vscode-panel-view', { id: `view-${it.id}`, class: `view view-${it.id}` });
    views[it.id] = v;
    panels.append(v);
  }
  panels.addEventListener('change', (ev) => {
    if (ev.target !== panels) return; // a dropdown's or checkbox's change bubbling up from a view
    const id = (panels.activeid || '').replace(/^tab-/, '');
    if (id) onSelect(id);
  });
  return {
    element: panels,
    views,
    select(id) {
      panels.activeid = `tab-${id}`;
      panels.setAttribute('activeid', `tab-${id}`);
    },
  };
}
