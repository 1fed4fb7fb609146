import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isFailedTraining,
  readCounterfactual,
  readCurveFit,
  readLossTimeRatio,
  readSlopes,
} from './finding-evidence';
import { FindingsDigest } from './findings-digest';
import { finding } from './synthetic-sweeps.fixture';
import { trialFailed } from './phase-diagram-figure';
import { probeOfFeature } from './starvation-figure';
import { prefixIds } from './svg-renderer';
import type { TrialRecord, TrialSeries } from './report-data';

void test('readCurveFit reads the error fit, a probe fit, and refuses other findings', () => {
  assert.deepEqual(
    readCurveFit(
      finding('s', 'learning-curve', 'learning-time', 't1', {
        learningTime: 120,
        width: 0.4,
        start: 0.5,
        end: 0,
      }),
    ),
    {
      probe: -1,
      learningTime: 120,
      sigmoid: { learningTime: 120, width: 0.4, start: 0.5, end: 0 },
    },
  );
  assert.deepEqual(
    readCurveFit(
      finding('s', 'learning-curve', 'learning-time', 't1', { learningTime: 50, probe: 2 }),
    ),
    { probe: 2, learningTime: 50, sigmoid: undefined },
  );
  assert.equal(
    readCurveFit(finding('s', 'learning-curve', 'not-sigmoidal', 't1', { residual: 0.3 })),
    undefined,
  );
  assert.equal(
    readCurveFit(finding('s', 'learning-curve', 'learning-time', '', { learningTime: 5 })),
    undefined,
    'per-sweep',
  );
  assert.equal(
    readCurveFit(finding('s', 'other', 'learning-time', 't1', { learningTime: 5 })),
    undefined,
  );
});

void test('readSlopes reads a slope named by the kind or by prefixed keys', () => {
  assert.deepEqual(
    readSlopes(
      finding('s', 'convergence-speed', 'learning-time-vs-norm', '', {
        slope: -0.98,
        slopeLow: -1.1,
        slopeHigh: -0.9,
      }),
    ),
    {
      norm: { slope: -0.98, intercept: undefined, low: -1.1, high: -0.9 },
    },
  );
  assert.deepEqual(
    readSlopes(
      finding('s', 'convergence-speed', 'convergence', '', {
        normSlope: -1,
        frequencySlope: -1.1,
        frequencyIntercept: 4,
      }),
    ),
    {
      norm: { slope: -1, intercept: undefined, low: undefined, high: undefined },
      frequency: { slope: -1.1, intercept: 4, low: undefined, high: undefined },
    },
  );
  assert.deepEqual(
    readSlopes(finding('s', 'learning-curve', 'learning-time-vs-norm', '', { slope: -1 })),
    {},
  );
});

void test('failed-training, counterfactual and loss-comparison evidence', () => {
  assert.equal(
    isFailedTraining(finding('s', 'failed-training', 'failed-training', 't3', {})),
    true,
  );
  assert.equal(
    isFailedTraining(finding('s', 'failed-training', 'failed-training', '', { cells: 4 })),
    false,
  );
  assert.deepEqual(
    readCounterfactual(
      finding('s', 'starvation-counterfactual', 'starvation-ratio', '', {
        ratio: 0.12,
        feature: 1,
      }),
    ),
    { ratio: 0.12, feature: 1 },
  );
  assert.equal(
    readCounterfactual(finding('s', 'starvation-counterfactual', 'x', '', { feature: 1 })),
    undefined,
  );
  assert.equal(
    readLossTimeRatio(finding('s', 'loss-comparison', 'loss-time-ratio', '', { timeRatio: 1.9 })),
    1.9,
  );
});

void test('FindingsDigest counts everything and keeps the most severe, sweep-level first', () => {
  const d = new FindingsDigest(3);
  const mk = (i: number, severity: 'info' | 'warning' | 'alert', trial = `t${i}`) => ({
    ...finding('s', 'a', `k-${severity}`, trial, { i }, severity),
    findingId: String(i),
  });
  [
    mk(0, 'info'),
    mk(1, 'info'),
    mk(2, 'warning'),
    mk(3, 'info'),
    mk(4, 'alert'),
    mk(5, 'warning', ''),
    mk(6, 'info'),
  ].forEach((f) => d.add(f));
  const r = d.result();
  assert.equal(r.total, 7);
  assert.deepEqual(
    r.listed.map((f) => f.findingId),
    ['4', '5', '2'],
  );
  assert.deepEqual(
    r.counts.map((c) => [c.kind, c.count]),
    [
      ['k-info', 4],
      ['k-warning', 2],
      ['k-alert', 1],
    ],
  );
});

void test('prefixIds makes clip-path and gradient ids unique per figure', () => {
  const svg =
    '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"></g><use href="#clip1"/><a href="#elsewhere"/></svg>';
  assert.equal(
    prefixIds(svg, 'fig'),
    '<svg><defs><clipPath id="fig-clip1"><rect/></clipPath></defs><g clip-path="url(#fig-clip1)"></g><use href="#fig-clip1"/><a href="#elsewhere"/></svg>',
  );
});

void test('trialFailed: findings decide when present, else the outcome and the error curve', () => {
  const base: TrialRecord = {
    id: 't1',
    seed: 0,
    group: 0,
    params: {},
    status: 'ok',
    backend: 'cpu',
    finalLoss: 0.1,
    finalError: 0,
    stepsDone: 10,
    wallS: 0,
    initialError: 0.5,
    halfErrorTime: 4,
  };
  assert.equal(trialFailed(base, undefined), false);
  assert.equal(trialFailed({ ...base, halfErrorTime: undefined }, undefined), true);
  assert.equal(trialFailed({ ...base, status: 'diverged' }, undefined), true);
  assert.equal(trialFailed({ ...base, status: 'cancelled' }, undefined), undefined);
  assert.equal(trialFailed({ ...base, halfErrorTime: undefined }, new Set(['t2'])), false);
  assert.equal(trialFailed(base, new Set(['t1'])), true);
});

void test('probeOfFeature finds the unit probe of a feature', () => {
  const s = {
    probes: [
      { name: 'e0', x: [1, 0], values: [] },
      { name: 'mix', x: [1, 1], values: [] },
      { name: 'e1', x: [0, -2], values: [] },
    ],
  } as unknown as TrialSeries;
  assert.equal(probeOfFeature(s, 1), 2);
  assert.equal(probeOfFeature(s, 0), 0);
  assert.equal(
    probeOfFeature(
      { probes: [{ name: 'mix', x: [1, 1], values: [] }] } as unknown as TrialSeries,
      1,
    ),
    undefined,
  );
});
