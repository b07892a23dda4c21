// Enforces the import rules of DESIGN.md: each folder may import only what its row allows.
// Run by `npm test`; exits 1 and names every offending file and specifier. Usage: check-imports.mjs [ROOT]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { builtinModules } from 'node:module';

// An optional argument names another tree to check (the tests build small trees that break each rule).
const root = resolve(process.argv[2] ?? resolve(dirname(new URL(import.meta.url).pathname), '..'));
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The one webview module allowed to touch the deprecated toolkit, so that replacing it is one file's work. */
const TOOLKIT_MODULE = 'webview/toolkit.ts';

/**
 * Per folder: which project folders it may import, whether Node built-ins are allowed, and which packages.
 * `entryOnly` folders may be imported only through their index.ts.
 */
const rules = {
  protocol: { folders: [], node: false, packages: [] },
  daemon: { folders: ['protocol'], node: true, packages: ['ws'] },
  guest: { folders: ['protocol'], node: true, packages: [] },
  lab: { folders: ['protocol', 'daemon', 'guest'], entryOnly: ['daemon', 'guest'], node: true, packages: ['ws'] },
  extension: { folders: ['protocol'], node: true, packages: ['vscode', 'ws'] },
  webview: { folders: ['protocol'], node: false, packages: ['d3', '@vscode/webview-ui-toolkit'] },
};

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (/\.(ts|mts|cts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) yield p;
  }
}

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const problems = [];
for (const [folder, rule] of Object.entries(rules)) {
  let files;
  try {
    files = [...sources(join(root, folder))];
  } catch (e) {
    if (e.code === 'ENOENT') continue; // a part not started yet
    throw e;
  }
  for (const file of files) {
    const rel = relative(root, file).split(sep).join('/');
    if (rel.endsWith('.test.ts')) continue; // tests beside code follow test/'s rules
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1];
      const why = check(folder, rule, rel, file, spec);
      if (why) problems.push(`${rel}: imports '${spec}' — ${why}`);
    }
  }
}

function check(folder, rule, rel, file, spec) {
  if (spec.startsWith('.')) {
    const target = relative(root, resolve(dirname(file), spec)).split(sep).join('/');
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
  if (pkg === '@vscode/webview-ui-toolkit' && rel !== TOOLKIT_MODULE) return `only ${TOOLKIT_MODULE} may use the toolkit`;
  return null;
}

if (problems.length) {
  console.error(`import rules broken (DESIGN.md, "Folders"):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('import rules: ok');
