// Whether the emulated path can run here, and if not, why — namespaces (root or user namespaces) and
// the TAP addon — so that a bench reports it unavailable and still runs the other paths.

import { loadTapAddon } from '../../native/tap';
import { namespaceSupport, type NamespaceProbe } from '../netns';

export type EmulatedSupport = { ok: true; mode: 'root' | 'userns' } | { ok: false; reason: string };

export async function emulatedPathSupport(probe?: NamespaceProbe): Promise<EmulatedSupport> {
  const ns = await namespaceSupport(probe);
  if (!ns.ok) return { ok: false, reason: `emulated path unavailable: ${ns.reason}` };
  if (ns.mode === 'userns' && (process.getuid?.() ?? -1) !== 0)
    return { ok: false, reason: 'emulated path unavailable as this user: run the lab inside a user namespace (rootlessArgv() in lab/netns.ts) or as root' };
  try {
    loadTapAddon();
  } catch (e) {
    return { ok: false, reason: `emulated path unavailable: ${(e as Error).message}` };
  }
  return ns;
}
