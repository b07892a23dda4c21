import { test } from 'node:test';
import assert from 'node:assert/strict';
import { viewerPage, contentSecurityPolicy, makeNonce } from './viewer-page';

const input = { cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://x.vscode-cdn.net/dist/webview.js', styleUri: 'https://x.vscode-cdn.net/dist/viewer.css', title: 'Trace <live>' };

test('the policy allows nothing by default, scripts only by nonce, never inline or eval', () => {
  const csp = contentSecurityPolicy(input.cspSource, 'N0nce');
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, /script-src 'nonce-N0nce'(;|$)/);
  assert.match(csp, /style-src https:\/\/x\.vscode-cdn\.net 'nonce-N0nce'/);
  assert.match(csp, /img-src https:\/\/x\.vscode-cdn\.net data:/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
});

test('every script in the page carries the nonce, which the csp-nonce meta repeats', () => {
  const html = viewerPage({ ...input, nonce: 'abc+/=' });
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.equal(scripts.length, 1);
  assert.ok(scripts.every((s) => s.includes('nonce="abc+/="')));
  assert.match(html, /<meta property="csp-nonce" content="abc\+\/=">/);
  assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;/);
  // No inline script or style: everything else comes from the extension's files.
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(html, /<style\b|\bstyle="/);
});

test('the title is escaped; each page gets a fresh nonce', () => {
  assert.match(viewerPage(input), /<title>Trace &#60;live&#62;<\/title>/);
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.ok(Buffer.from(a, 'base64').length === 16);
});
