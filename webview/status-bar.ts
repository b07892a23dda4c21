// The status line (title, counts, connection, loading) and the notices under it (damaged input, dropped
// records). Panels add their own parts and notices; the DOM changes only when the text does.

import type { CallStore } from './call-store';
import type { SourceStatus } from './host-messages';
import type { Notice } from './panel';
import { formatCount } from './format';

const n = formatCount;

export function sourceStatus(store: CallStore, source: SourceStatus): string[] {
  const parts = [source.title || 'Linsock trace', `${n(store.count)} calls`];
  if (store.frameCount) parts.push(`${n(store.frameCount)} frames`);
  if (source.connection) parts.push(source.connection);
  if (source.loading) parts.push(`loading ${Math.round((100 * source.loading.loaded) / Math.max(1, source.loading.total))}%`);
  return parts;
}

export function sourceNotices(store: CallStore, source: SourceStatus): Notice[] {
  const notes: Notice[] = [];
  if (source.damaged) notes.push({ kind: 'damaged', text: `Damaged: ${source.damaged.message}. ${n(source.damaged.recordsKept)} records before the damage were kept.` });
  if (store.droppedBySource) notes.push({ kind: 'dropped', text: `The daemon dropped ${n(store.droppedBySource)} records (a slow reader or a full ring): the trace has gaps.` });
  if (store.droppedByLimit) notes.push({ kind: 'limit', text: `The ${n(store.droppedByLimit)} oldest calls were dropped to stay within the record limit of ${n(store.recordLimit)}.` });
  return notes;
}

export class StatusBar {
  readonly status = document.createElement('div');
  readonly notices = document.createElement('div');
  private noticesKey = '';

  constructor() {
    this.status.className = 'status';
    this.notices.className = 'notices';
    this.notices.setAttribute('role', 'status');
  }

  render(parts: readonly string[], notes: readonly Notice[]): void {
    const text = parts.join(' · ');
    if (this.status.textContent !== text) this.status.textContent = text;
    const key = notes.map((x) => x.text).join('|');
    if (key === this.noticesKey) return;
    this.noticesKey = key;
    // the same notices with new figures (the decimation count changes with every zoom): new text in place
    const kinds = notes.map((x) => x.kind).join('|');
    if (kinds === this.kindsKey) {
      notes.forEach((x, i) => {
        const d = this.notices.children[i]!;
        if (d.textContent !== x.text) d.textContent = x.text;
      });
      return;
    }
    this.kindsKey = kinds;
    this.notices.replaceChildren(...notes.map((x) => {
      const d = document.createElement('div');
      d.className = `notice notice-${x.kind}`;
      d.textContent = x.text;
      return d;
    }));
  }
  private kindsKey = '';
}
