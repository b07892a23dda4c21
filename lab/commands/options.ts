// The shape every `linsock` command shares for bad arguments: the problem, then the command's usage line,
// on stderr, and exit code 2 — before anything has started.

import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface ParsedOptions {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `argv` strictly; an unknown or malformed option is reported with the usage and gives null. */
export function parseOptions(command: string, usage: string, argv: string[], config: Omit<ParseArgsConfig, 'args' | 'strict'>): ParsedOptions | null {
  try {
    return parseArgs({ ...config, args: argv, strict: true }) as ParsedOptions;
  } catch (err) {
    usageError(command, usage, [(err as Error).message]);
    return null;
  }
}

export function usageError(command: string, usage: string, problems: string[]): void {
  console.error(`linsock ${command}: ${problems.join('; ')}\n${usage}`);
}
