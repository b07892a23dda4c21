// A table row of plain-text cells (textContent, never HTML: guest names and errnos come from the trace).

export function tableRow(tag: 'th' | 'td', cells: readonly string[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const text of cells) {
    const cell = document.createElement(tag);
    cell.textContent = text;
    tr.append(cell);
  }
  return tr;
}
