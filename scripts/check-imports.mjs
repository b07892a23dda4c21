// Enforces the import rules of DESIGN.md ("Folders"): each folder may import only what its row allows;
// only native/ loads C addons; and no source file reaches itself through its imports (type-only ones
// included: two files that need each other's types want a third). Run by `npm test`; exits 1 and names
// every offending file, specifier and cycle. Usage: check-imports.mjs [ROOT]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { builtinModules } from 'node:module';

// An optional argument names another tree to check (the tests build small trees that break each rule).
const root = resolve(process.argv[2] ?? resolve(dirname(new URL(import.meta.url).pathname), '..'));
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The one webview module allowed to touch the deprecated toolkit, so that replacing it is one file's work. */
const TOOLKIT_MODULE = 'webview/toolkit.ts';

/** The one folder that may load a C addon (its loader, native/addon.ts, finds build/Release). */
const NATIVE = 'native';

/**
 * Per folder: which project folders it may import, whether Node built-ins are allowed, and which packages.
 * `entryOnly` folders may be imported only through their index.ts. Folders without a row (test/, scripts/)
 * may import anything; the addon and cycle checks still cover scripts/.
 */
const rules = {
  protocol: { folders: [], node: false, packages: [] },
  daemon: { folders: ['protocol', NATIVE], node: true, packages: ['ws'] },
  guest: { folders: ['protocol', NATIVE], node: true, packages: [] },
  lab: { folders: ['protocol', 'daemon', 'guest', NATIVE], entryOnly: ['daemon', 'guest'], node: true, packages: ['ws'] },
  [NATIVE]: { folders: [], node: true, packages: [] },
  extension: { folders: ['protocol'], node: true, packages: ['vscode', 'ws'] },
  webview: { folders: ['protocol'], node: false, packages: ['d3', '@vscode/webview-ui-toolkit'] },
};

/** Folders whose source files the addon and cycle checks read; test/ is free to do anything. */
const SOURCE_FOLDERS = [...Object.keys(rules), 'scripts', 'bin'];

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Ways of loading a C addon; outside native/ each one is a hidden dependency on a build product. */
const ADDON_LOADS = [
  { pattern: /\bprocess\s*\.\s*dlopen\b/, what: 'calls process.dlopen' },
  { pattern: /\brequire\s*\(\s*['"`][^'"`]*\.node['"`]\s*\)/, what: 'requires a .node file' },
  { pattern: /['"`][^'"`\n]*\bbuild[/\\]Release\b/, what: 'names build/Release in a string' },
  { pattern: /['"`]build['"`]\s*,\s*['"`]Release['"`]/, what: 'joins a path into build/Release' },
];

const EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs'];

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (EXTENSIONS.some((e) => name.endsWith(e)) && !name.endsWith('.d.ts')) yield p;
  }
}

/** Every non-test source file of `folder`, as root-relative paths with '/'; none when the folder is absent. */
function folderFiles(folder) {
  try {
    return [...sources(join(root, folder))].map(rel).filter((f) => !/\.test\.[mc]?[tj]s$/.test(f));
  } catch (e) {
    if (e.code === 'ENOENT') return []; // a part not started yet
    throw e;
  }
}

function rel(file) {
  return relative(root, file).split(sep).join('/');
}

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The file a relative specifier names ('./x' -> x.ts, x/index.ts, ...), or null when none exists. */
function resolveFile(from, spec) {
  const base = resolve(dirname(join(root, from)), spec);
  const candidates = [base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => join(base, `index${e}`))];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  return hit ? rel(hit) : null;
}

/**
 * Comments may name build/Release or dlopen when they explain why; only code counts. Block comments are
 * taken where a line starts with one (so a '/*' inside a glob string is left alone), and line comments
 * where no quote follows them.
 */
function withoutComments(text) {
  return text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/(^|\s)\/\/[^'"`\n]*$/gm, '$1');
}

const problems = [];
const texts = new Map(SOURCE_FOLDERS.flatMap((folder) => folderFiles(folder).map((f) => [f, readFileSync(join(root, f), 'utf8')])));

// 1. Folder rules.
for (const [file, text] of texts) {
  const folder = file.split('/')[0];
  const rule = rules[folder];
  if (!rule) continue;
  for (const m of text.matchAll(SPECIFIER)) {
    const why = check(folder, rule, file, m[1]);
    if (why) problems.push(`${file}: imports '${m[1]}' — ${why}`);
  }
}

function check(folder, rule, file, spec) {
  if (spec.startsWith('.')) {
    const target = relative(root, resolve(dirname(join(root, file)), spec)).split(sep).join('/');
    const top = target.split('/')[0];
    if (top === folder) return null;
    if (!rule.folders.includes(top)) return `${folder}/ may not import ${top}/ (allowed: ${rule.folders.join(', ') || 'nothing of the project'})`;
    // '../daemon' resolves to daemon/index.ts, so the bare folder is the entry point too.
    if (rule.entryOnly?.includes(top) && !/^[^/]+(\/index(\.ts)?)?$/.test(target))
      return `${folder}/ may import ${top}/ only through ${top}/index.ts`;
    return null;
  }
  // node:test and other prefix-only modules are missing from builtinModules.
  if (builtins.has(spec) || spec.startsWith('node:')) return rule.node ? null : `${folder}/ may not use Node built-ins`;
  const pkg = packageName(spec);
  if (!rule.packages.includes(pkg)) return `${folder}/ may not import the package '${pkg}' (allowed: ${rule.packages.join(', ') || 'none'})`;
  if (pkg === '@vscode/webview-ui-toolkit' && file !== TOOLKIT_MODULE) return `only ${TOOLKIT_MODULE} may use the toolkit`;
  return null;
}

// 2. Addon loads: only native/ loads C addons.
for (const [file, text] of texts) {
  if (file.startsWith(`${NATIVE}/`) || file === 'scripts/check-imports.mjs') continue; // this file names what it looks for
  const code = withoutComments(text);
  for (const { pattern, what } of ADDON_LOADS) {
    if (pattern.test(code)) problems.push(`${file}: ${what} — only ${NATIVE}/ loads C addons (use its typed wrappers)`);
  }
}

// 3. Cycles among relative imports, type-only ones included.
const graph = new Map();
for (const [file, text] of texts) {
  const edges = new Set();
  for (const m of text.matchAll(SPECIFIER)) {
    if (!m[1].startsWith('.')) continue;
    const target = resolveFile(file, m[1]);
    if (target && texts.has(target) && target !== file) edges.add(target);
  }
  graph.set(file, [...edges].sort());
}

for (const component of stronglyConnected(graph)) {
  const cycle = oneCycle(graph, component);
  problems.push(`import cycle: ${cycle.join(' -> ')}${component.length > cycle.length - 1 ? ` (${component.length} files tangled: ${component.join(', ')})` : ''}`);
}

/** Tarjan's algorithm: the groups of files that reach one another, each of two files or more. */
function stronglyConnected(g) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const group = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) out.push(group.sort());
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** A shortest cycle through the component's first file (breadth-first inside the component), closed on itself. */
function oneCycle(g, component) {
  const inside = new Set(component);
  const start = component[0];
  const from = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of g.get(v)) {
      if (w === start) {
        const path = [v];
        for (let p = from.get(v); p !== null; p = from.get(p)) path.push(p);
        return [...path.reverse(), start];
      }
      if (inside.has(w) && !from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

if (problems.length) {
  console.error(`import rules broken (DESIGN.md, "Folders"):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('import rules: ok');
