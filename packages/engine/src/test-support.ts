/**
 * Shared pieces of the engine's tests: a compact trial builder (every default from the spec
 * schema, overrides merged per section) and tolerance assertions that name the index that failed.
 * Not exported from the package.
 */
import * as assert from 'node:assert/strict';
import { compileTrial, type CompiledTrial, type TrialInput } from '@dynlab/spec';

type Sections = Omit<TrialInput, 'data'> & { data?: TrialInput['data'] };

/**
 * A compiled trial: a small two-feature dataset and a ReLU net unless overridden (sections are
 * merged shallowly); the probes are the unit vectors of the input unless `record.probes` is given.
 */
export function makeTrial(over: Sections = {}): CompiledTrial {
  const base: TrialInput = {
    data: {
      features: {
        n: 64,
        features: [
          { frequency: 1, norm: 1 },
          { frequency: 0.25, norm: 2 },
        ],
      },
    },
    model: { kind: 'relu', hidden: [8] },
    steps: 20,
    seed: 3,
    record: {
      every: 5,
      quantities: [
        'loss',
        'error',
        'gradShare',
        'probeOutputs',
        'paramNorms',
        'deadUnits',
        'trainOutputs',
      ],
    },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = (base as Record<string, unknown>)[k];
    merged[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && k !== 'data'
        ? { ...b, ...v }
        : v;
  }
  const record = merged.record as { probes?: unknown };
  if (record.probes !== undefined) return compileTrial(merged);
  const dim = compileTrial(merged).inputDim;
  const probes = Array.from({ length: dim }, (_, j) => ({
    x: Array.from({ length: dim }, (_, k) => (k === j ? 1 : 0)),
  }));
  return compileTrial({ ...merged, record: { ...record, probes } });
}

/** Asserts |a - b| <= tol * max(1, |b|) elementwise (relative, absolute near zero). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = 'value',
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b))))
      assert.fail(`${what}[${i}]: ${a} vs ${b} (tolerance ${tol})`);
  }
}
