// The command palette offers a Linsock command only when it can do something: package.json's
// commandPalette `when` clauses, evaluated here for each state the extension's context keys describe.
// A small evaluator of the clause subset the manifest uses (!, &&, ||, ==, !=), not VS Code's own; the UI
// test (ui-faults) checks in real code-server that Disconnect is not offered while disconnected.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string }[]; menus: { commandPalette: { command: string; when: string }[] } };
};
const palette = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));

type Ctx = Record<string, string | boolean>;

/** Evaluates a `when` clause of the subset: identifiers, true/false, !x, a == v, a != v, &&, ||. */
function evaluate(clause: string, ctx: Ctx): boolean {
  const tokens = clause.match(/&&|\|\||==|!=|!|[\w.-]+/g) ?? [];
  if (tokens.join('').replace(/\s/g, '') !== clause.replace(/\s/g, '')) throw new Error(`unsupported when clause: ${clause}`);
  let i = 0;
  const value = (t: string) => (t === 'true' ? true : t === 'false' ? false : (ctx[t] ?? false));
  const unary = (): boolean => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`clause ends early: ${clause}`);
    if (t === '!') return !unary();
    if (tokens[i] === '==' || tokens[i] === '!=') {
      const op = tokens[i++];
      const rhs = tokens[i++];
      return op === '==' ? String(value(t)) === rhs : String(value(t)) !== rhs;
    }
    return Boolean(value(t));
  };
  const and = (): boolean => {
    let v = unary();
    while (tokens[i] === '&&') {
      i++;
      v = unary() && v;
    }
    return v;
  };
  let v = and();
  while (tokens[i] === '||') {
    i++;
    v = and() || v;
  }
  if (i !== tokens.length) throw new Error(`trailing tokens in ${clause}`);
  return v;
}

/** The context keys as live-trace.ts sets them in each situation. */
const STATES: Record<string, Ctx> = {
  'disconnected, no trace': { 'linsock.connected': false, 'linsock.state': 'disconnected', 'linsock.recording': false, 'linsock.hasTrace': false },
  'disconnected, a trace held': { 'linsock.connected': false, 'linsock.state': 'disconnected', 'linsock.recording': false, 'linsock.hasTrace': true },
  'reconnecting while recording': { 'linsock.connected': false, 'linsock.state': 'reconnecting', 'linsock.recording': true, 'linsock.hasTrace': true },
  'connected, idle': { 'linsock.connected': true, 'linsock.state': 'connected', 'linsock.recording': false, 'linsock.hasTrace': false },
  'connected, recording': { 'linsock.connected': true, 'linsock.state': 'connected', 'linsock.recording': true, 'linsock.hasTrace': true },
};

const offered = (command: string, ctx: Ctx) => evaluate(palette.get(command) ?? 'true', ctx);
const offeredIn = (state: string) =>
  manifest.contributes.commands.map((c) => c.command).filter((c) => offered(c, STATES[state]!)).map((c) => c.replace('linsock.', '')).sort();

test('the evaluator reads the clause forms the manifest uses', () => {
  assert.equal(evaluate('a && !b', { a: true, b: false }), true);
  assert.equal(evaluate('a && !b', { a: true, b: true }), false);
  assert.equal(evaluate('s != disconnected', { s: 'reconnecting' }), true);
  assert.equal(evaluate('s != disconnected', { s: 'disconnected' }), false);
  assert.equal(evaluate('a || b', { a: false, b: true }), true);
  assert.equal(evaluate('false', {}), false);
  assert.throws(() => evaluate('a =~ /x/', {}));
});

test('while disconnected with nothing held the palette offers no Disconnect, Export, Clear, recording or run', () => {
  assert.deepEqual(offeredIn('disconnected, no trace'), ['connect', 'enterToken', 'openTraceFile', 'openViewer', 'showLog']);
});

test('a trace held while disconnected can be exported and cleared, not recorded into', () => {
  assert.deepEqual(offeredIn('disconnected, a trace held'), ['clearTrace', 'connect', 'enterToken', 'exportTrace', 'openTraceFile', 'openViewer', 'showLog']);
});

test('while reconnecting the user can stop trying (Disconnect) and stop the recording', () => {
  const o = offeredIn('reconnecting while recording');
  for (const c of ['disconnect', 'stopRecording', 'connect']) assert.ok(o.includes(c), `${c} not offered while reconnecting: ${o.join(', ')}`);
  for (const c of ['startRecording', 'runComparison', 'refreshGuests']) assert.ok(!o.includes(c), `${c} offered while reconnecting`);
});

test('connected: Start or Stop Recording, whichever applies; no Connect', () => {
  assert.deepEqual(offeredIn('connected, idle'), ['disconnect', 'enterToken', 'openTraceFile', 'openViewer', 'refreshGuests', 'runComparison', 'showLog', 'startRecording']);
  const rec = offeredIn('connected, recording');
  assert.ok(rec.includes('stopRecording') && !rec.includes('startRecording'));
  assert.ok(rec.includes('exportTrace') && rec.includes('clearTrace'));
});

test('every clause names only context keys the extension sets', () => {
  const source = readFileSync(join(root, 'extension', 'context-keys.ts'), 'utf8');
  const declared = new Set(source.match(/'linsock\.\w+'/g)?.map((k) => k.slice(1, -1)));
  assert.ok(declared.size >= 4, `found the keys ${[...declared].join(', ')} in context-keys.ts`);
  const menus = Object.values(manifest.contributes.menus as unknown as Record<string, { when?: string }[]>).flat();
  for (const m of menus) for (const k of m.when?.replace(/(==|!=)\s*[\w.-]+/g, '').match(/linsock\.\w+/g) ?? []) assert.ok(declared.has(k), `'${m.when}' reads ${k}, which context-keys.ts does not declare`);
});
