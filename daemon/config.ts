// The --config JSON file: {"policy": {"rules": [...]}, "limits": {...}}. Command-line limits override it.
import { readFileSync } from 'node:fs';
import type { PolicyConfig } from './policy/policy';
import type { Limits } from './limits';

export interface DaemonConfig {
  policy: PolicyConfig;
  limits: Partial<Limits>;
}

/** Reads and shape-checks the file; throws an Error that names the file and what was expected. */
export function loadConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`config file ${path} must hold an object like {"policy":{"rules":[]},"limits":{}}`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'policy' && k !== 'limits') throw new Error(`config file ${path}: unknown key '${k}' (expected policy, limits)`);
  const policy = o.policy ?? {};
  const limits = o.limits ?? {};
  if (typeof policy !== 'object' || policy === null) throw new Error(`config file ${path}: policy must be an object`);
  if (typeof limits !== 'object' || limits === null) throw new Error(`config file ${path}: limits must be an object`);
  return { policy: policy as PolicyConfig, limits: limits as Partial<Limits> };
}
