// The one loader of Linsock's C addons (native/*.c, built by node-gyp from the root binding.gyp into
// build/Release during `npm install`). Each typed wrapper beside it (tap.ts, socket-buffer.ts) names its
// addon; the loader never learns their names and imports nothing of the project, so daemon/, guest/ and
// lab/ can all use it without depending on one another.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface AddonSpec {
  /** The binding.gyp target: build/Release/<target>.node. */
  readonly target: string;
  /** An environment variable that, when set, names the .node file to load instead (tests, other builds). */
  readonly pathVariable?: string;
}

/** A loaded addon, or why it is unavailable in words a user can act on. */
export type AddonLoad<T> = { ok: true; addon: T; path: string } | { ok: false; reason: string };

/** How far up from this file build/Release may sit: native/ in source (1), dist/ when bundled (1), deeper in tests. */
const MAX_LEVELS = 6;

const BUILD_HINT =
  'Build it with `npm install` (or `npm_config_nodedir=/usr npx node-gyp rebuild`); ' +
  "it needs gcc, make, python3 and Node's headers in /usr/include/node.";

/** One load per target, whatever its outcome: dlopen is costly and a missing file stays missing. */
const loads = new Map<string, AddonLoad<object>>();

/** The package root's build/Release/<target>.node, searched upward from this module's directory. */
function findAddon(spec: AddonSpec): { path: string; found: boolean } {
  const override = spec.pathVariable ? process.env[spec.pathVariable] : undefined;
  if (override) return { path: override, found: existsSync(override) };
  const file = join('build', 'Release', `${spec.target}.node`);
  for (let dir = __dirname, i = 0; i < MAX_LEVELS; i++, dir = dirname(dir)) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return { path: candidate, found: true };
  }
  return { path: file, found: false };
}

function dlopen(spec: AddonSpec): AddonLoad<object> {
  const { path, found } = findAddon(spec);
  if (!found) return { ok: false, reason: `${path} is not built. ${BUILD_HINT}` };
  const mod = { exports: {} as object };
  try {
    process.dlopen(mod, path);
  } catch (e) {
    return { ok: false, reason: `${path} did not load (${(e as Error).message}); rebuild it with \`npm rebuild\` for Node ${process.versions.node}.` };
  }
  return { ok: true, addon: mod.exports, path };
}

/**
 * Loads the addon once and returns it typed as `T`. The type is the wrapper's word for what the C file
 * exports: each addon has exactly one wrapper, which is where that word is checked against the C source.
 */
export function loadAddon<T extends object>(spec: AddonSpec): AddonLoad<T> {
  let load = loads.get(spec.target);
  if (!load) {
    load = dlopen(spec);
    loads.set(spec.target, load);
  }
  return load as AddonLoad<T>;
}
