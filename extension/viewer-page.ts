// The trace viewer's HTML, built here and nowhere else: a strict Content Security Policy in which only
// the bundle carrying this page's nonce runs, and styles come from the extension's own files (or carry
// the nonce: the toolkit's focus-visible probe, see shared/notes/webview.md).

import { randomBytes } from 'node:crypto';

export interface ViewerPageInput {
  /** webview.cspSource */
  cspSource: string;
  /** asWebviewUri of dist/webview.js and dist/viewer.css, as strings. */
  scriptUri: string;
  styleUri: string;
  title: string;
  nonce?: string;
}

/** 128 random bits, base64: unguessable by anything injected into the page. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function viewerPage(p: ViewerPageInput): string {
  const nonce = p.nonce ?? makeNonce();
  const n = escapeHtml(nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(p.cspSource, nonce))}">
<meta property="csp-nonce" content="${n}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<link rel="stylesheet" href="${escapeHtml(p.styleUri)}" nonce="${n}">
</head>
<body>
<div id="viewer"></div>
<script nonce="${n}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>
`;
}
