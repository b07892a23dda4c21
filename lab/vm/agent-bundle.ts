// Builds the guest agent (agent.ts and what it imports) into one CommonJS file for the VM's node: one
// file loads in a fraction of the time that compiling TypeScript at start would take under TCG. esbuild
// runs as a program (the lab imports no build tools).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo-paths';
import { runCommand } from './run-command';

export async function buildAgent(outFile: string): Promise<void> {
  const root = repoRoot();
  const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
  if (!existsSync(esbuild)) throw new Error(`esbuild is missing (${esbuild}); run npm ci to install the project's dev dependencies`);
  await runCommand(esbuild, [join(root, 'lab', 'vm', 'agent.ts'), '--bundle', '--platform=node', '--target=node20', '--format=cjs', `--outfile=${outFile}`, '--log-level=warning'], { cwd: root });
}
