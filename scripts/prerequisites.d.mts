// Types of scripts/prerequisites.mjs (plain JavaScript so that it runs on a bare machine), for its tests.
export type Step = 'install' | 'test' | 'start';
export const STEPS: Record<Step, string>;
export interface Row { probe: string; pkg: string; steps: string; why: string }
export interface ParsedRow { probes: string[]; pkg: string; steps: string[]; why: string }
export interface Missing { pkg: string; why: string; absent: string[] }
export interface Host { root: boolean; debian: boolean; noApt: boolean }
export type Plan =
  | { action: 'none' }
  | { action: 'install'; packages: string[]; command: string; notice: string }
  | { action: 'stop'; packages: string[]; command: string; message: string };
export const TABLE: Row[];
export function parseTable(rows: Row[]): ParsedRow[];
export function missingPackages(step: string, parsed: ParsedRow[], isPresent: (probe: string) => boolean): Missing[];
export function plan(step: string, missing: Missing[], host: Host): Plan;
export function onThisHost(probe: string, env?: NodeJS.ProcessEnv): boolean;
export function hostFacts(env?: NodeJS.ProcessEnv): Host;
export function aptInstall(packages: string[], print?: (text: string) => void): boolean;
export function ensurePrerequisites(step: string, options?: {
  rows?: Row[];
  isPresent?: (probe: string) => boolean;
  host?: Host;
  install?: (packages: string[], print: (text: string) => void) => boolean;
  print?: (text: string) => void;
}): number;
