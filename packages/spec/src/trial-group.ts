/**
 * Trials that share a body, as they cross a thread boundary: the body once, and for each trial only
 * what is its own. The trials of one sweep point differ in id, seed, seed index, params and the
 * data seed, all strings and uint32s that cannot be invalid, so the receiver checks the body once
 * instead of every trial (a full check costs about 50 µs, as much as a tiny trial's training).
 */
import { compileTrial, type CompiledTrial, trialToInput } from './compiled-trial';
import { runTrials, type TrialRun } from './job-plan';
import type { ParsedTrial } from './trial-schema';

/** What a trial of a group has of its own. */
export interface OwnFields {
  id: string;
  seed: number;
  seedIndex: number;
  dataSeed: number;
  params: Record<string, string>;
}

/** Trials that share one body (see the module header). */
export interface TrialGroup {
  /** The group's first trial as plain input (`trialToInput`). */
  body: ParsedTrial;
  trials: OwnFields[];
}

const own = (t: CompiledTrial): OwnFields => ({
  id: t.id,
  seed: t.seed,
  seedIndex: t.seedIndex,
  dataSeed: t.data.seed,
  params: t.params,
});

/** The trials of a planned run as one group. */
export function runGroup(run: TrialRun, sweepId: string, seedCount: number): TrialGroup {
  return {
    body: trialToInput(run.point.first),
    trials: runTrials(run, sweepId, seedCount).map(own),
  };
}

/** The trials of groups, each body compiled (checked) once; throws the body's ValidationError. */
export function compileGroups(groups: readonly TrialGroup[]): CompiledTrial[] {
  return groups.flatMap((g) => {
    const first = compileTrial(g.body);
    return g.trials.map((o) => ({
      ...first,
      id: o.id,
      seed: o.seed,
      seedIndex: o.seedIndex,
      params: o.params,
      data: { ...first.data, seed: o.dataSeed },
    }));
  });
}
