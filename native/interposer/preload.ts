// Where the interposer's shared object is: build/Release/liblinsock_preload.so of the package root,
// searched upward from this module (native/interposer/ in source, dist/ when bundled), as native/addon.ts does.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PRELOAD_FILE = 'liblinsock_preload.so';
const MAX_LEVELS = 6;

/** What to do when findPreload() finds nothing. */
export const PRELOAD_MISSING = `build/Release/${PRELOAD_FILE} is missing: run \`node native/build.mjs\` (needs cc)`;

export function findPreload(): string | null {
  const file = join('build', 'Release', PRELOAD_FILE);
  for (let dir = __dirname, i = 0; i < MAX_LEVELS; i++, dir = dirname(dir)) {
    const p = join(dir, file);
    if (existsSync(p)) return p;
  }
  return null;
}
