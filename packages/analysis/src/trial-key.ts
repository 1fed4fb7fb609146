/**
 * Pairing trials that differ in one thing only. Per-sweep analyzers compare counterfactuals (a
 * feature knocked out, the loss swapped, another mode's data changed); rather than trusting the
 * sweep's axes, which may encode the change in many ways (a flag, a whole feature list, zip mode),
 * they compare the compiled trials themselves: two trials pair when their specs are equal once the
 * changed part is removed. The seed stays in the key, so pairs share their data and initial weights.
 */
import { trialToInput, type CompiledTrial, type ParsedTrial } from '@dynlab/spec';

/** The trial as plain JSON without what names it in the sweep (id, params, seed index). */
export function trialBody(trial: CompiledTrial): ParsedTrial {
  const body = structuredClone(trialToInput(trial)) as Partial<ParsedTrial>;
  delete body.id;
  delete body.params;
  delete body.seedIndex;
  return body as ParsedTrial;
}

/** A string equal for two trials exactly when their bodies are equal after `strip` removed the compared part. */
export function comparisonKey(
  trial: CompiledTrial,
  strip: (body: ParsedTrial) => void = () => undefined,
): string {
  const body = trialBody(trial);
  strip(body);
  return JSON.stringify(body);
}

/** Groups items by key, keeping first-seen order. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * The swept values of a trial as numeric evidence: each axis path with its value, arrays expanded
 * by index (`init.layers[0].weights[1]`), booleans as 0/1; strings and the seed are left out.
 */
export function paramEvidence(
  trial: CompiledTrial,
  prefixes: readonly string[] = [''],
): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (path: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[path] = v;
    else if (typeof v === 'boolean') out[path] = v ? 1 : 0;
    else if (Array.isArray(v)) v.forEach((x, i) => add(`${path}[${i}]`, x));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) add(`${path}.${k}`, x);
  };
  for (const [path, json] of Object.entries(trial.params)) {
    if (path === 'seed' || !prefixes.some((p) => path.startsWith(p))) continue;
    try {
      add(path, JSON.parse(json));
    } catch {
      // A value that is not JSON is a label, not a number: nothing to add.
    }
  }
  return out;
}
