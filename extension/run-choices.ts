// What Run Comparison… offers, from the daemon's lab offer (status.lab): the kinds of run (namespaces, a
// QEMU VM, a real program) with why one is not offered, the workloads and paths of the chosen kind, and
// the run's label. No VS Code API here: the command (run-comparison.ts) turns these into quick picks.

import { PATHS, WORKLOADS, type EmulatedMode, type GuestKind, type LabOffer, type Path, type ProgramOffer, type Workload } from '../protocol';

export type RunKind = GuestKind | 'program';

/** One row of the first pick. `unavailable` set: shown, with the reason, and refused when picked. */
export interface KindChoice {
  kind: RunKind;
  label: string;
  detail: string;
  unavailable: string | null;
}

/** What the user chose, as the run request carries it. */
export interface RunChoice {
  guest: GuestKind;
  workload: Workload;
  program?: string;
  paths: Path[];
  seconds: number;
  mode?: EmulatedMode;
}

/** A daemon that says nothing of its lab runs the namespace comparison it always ran. */
const NAMESPACES_ONLY: LabOffer = {
  guests: [{ kind: 'ns', unavailable: null, workloads: [...WORKLOADS], paths: [...PATHS], modes: ['e1000', 'virtio'] }],
  programs: [],
};

export function offerOrDefault(offer: LabOffer | undefined): LabOffer {
  return offer ?? NAMESPACES_ONLY;
}

/** The first pick's rows: every guest kind the daemon names, then "a program…" when it names programs. */
export function kindChoices(offer: LabOffer): KindChoice[] {
  const rows: KindChoice[] = offer.guests.map((g) => ({
    kind: g.kind,
    label: g.kind === 'ns' ? 'namespaces' : 'VM (QEMU)',
    detail: g.kind === 'ns'
      ? 'guests in network namespaces: direct, delegated and the emulated NIC (TAP + device model)'
      : 'a real VM: delegated over virtio-serial against QEMU\'s e1000 or virtio-net; boots for each run (5-10 s, more under TCG)',
    unavailable: g.unavailable,
  }));
  if (offer.programs.length > 0) {
    const usable = offer.programs.filter((p) => p.unavailable === null);
    rows.push({
      kind: 'program',
      label: 'a program…',
      detail: `a real program on the paths: ${offer.programs.map((p) => p.name).join(', ')}`,
      unavailable: usable.length > 0 ? null : offer.programs.map((p) => `${p.name}: ${p.unavailable}`).join('; '),
    });
  }
  return rows;
}

/** The workloads, paths and NIC modes the kind offers. */
export function kindOffer(offer: LabOffer, guest: GuestKind): { workloads: Workload[]; paths: Path[]; modes: EmulatedMode[] } {
  const g = offer.guests.find((x) => x.kind === guest);
  if (!g) throw new Error(`the daemon's lab does not run guests of kind ${guest}`);
  return { workloads: g.workloads, paths: g.paths, modes: g.modes };
}

/** The paths ticked at first: all but direct (the comparison is delegated against emulated). */
export function defaultPicked(paths: readonly Path[]): Path[] {
  const some = paths.filter((p) => p !== 'direct');
  return some.length > 0 ? some : [...paths];
}

/** The detail line of a program row: what it measures and whether its calls are traced. */
export function programDetail(p: ProgramOffer): string {
  if (p.unavailable) return `not offered: ${p.unavailable}`;
  return `${p.workload} on ${p.paths.join(' or ')}; ${p.traced ? 'its calls are traced' : 'its own figures (its calls are not traced yet)'}`;
}

/** "rr · delegated vs emulated (VM)", "iperf3 · direct vs delegated". */
export function runLabel(c: Pick<RunChoice, 'guest' | 'workload' | 'program' | 'paths'>): string {
  return `${c.program ?? c.workload} · ${c.paths.join(' vs ')}${c.guest === 'vm' ? ' (VM)' : ''}`;
}
