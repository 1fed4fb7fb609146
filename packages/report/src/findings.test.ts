import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignSlopes,
  isFailedTrainingFinding,
  isFailedTrial,
  readCounterfactual,
  readCurveFit,
  readLossTimeRatio,
  readSlope,
  readSpeedPoint,
} from './finding-evidence';
import { FindingsDigest } from './findings-digest';
import { finding } from './synthetic-sweeps.fixture';
import { trialFailed } from './phase-diagram-figure';
import { probeOfFeature } from './starvation-figure';
import { prefixIds } from './svg-renderer';
import type { TrialRecord, TrialSeries } from './report-data';

void test('readCurveFit reads the learning-curve analyzer: the error fit, a probe fit, nothing else', () => {
  const ev = {
    signal: 0,
    learningStep: 120,
    learningTime: 12,
    width: 0.4,
    start: 0.5,
    end: 0,
    r2: 0.99,
  };
  assert.deepEqual(readCurveFit(finding('s', 'learning-curve', 'learning-curve', 't1', ev)), {
    probe: -1,
    learningStep: 120,
    sigmoid: { learningTime: 120, width: 0.4, start: 0.5, end: 0 },
  });
  assert.deepEqual(
    readCurveFit(
      finding('s', 'learning-curve', 'learning-curve', 't1', {
        signal: 1,
        probe: 2,
        learningStep: 50,
      }),
    ),
    {
      probe: 2,
      learningStep: 50,
      sigmoid: undefined,
    },
  );
  assert.equal(
    readCurveFit(finding('s', 'learning-curve', 'non-sigmoidal', 't1', { r2: 0.3 })),
    undefined,
  );
  assert.equal(
    readCurveFit(finding('s', 'learning-curve', 'learning-curve', 't1', { learningTime: 5 })),
    undefined,
    'flow time only',
  );
  assert.equal(
    readCurveFit(finding('s', 'other', 'learning-curve', 't1', { learningStep: 5 })),
    undefined,
  );
});

void test('convergence-speed: points, slopes, and slopes named by regressor code or by the analyzer order', () => {
  const point = finding('s', 'convergence-speed', 'learning-time', 't1', {
    feature: 0,
    norm: 2,
    frequency: 0.5,
    learningStep: 100,
    learningTime: 10,
  });
  assert.deepEqual(readSpeedPoint(point), { trialId: 't1', norm: 2, frequency: 0.5, time: 10 });
  const slope = (v: number, extra: Record<string, number> = {}) =>
    readSlope(
      finding('s', 'convergence-speed', 'convergence-slope', '', {
        slope: v,
        ciLow: v - 0.1,
        ciHigh: v + 0.1,
        intercept: 3,
        ...extra,
      }),
    )!;
  assert.deepEqual(slope(-1), { slope: -1, low: -1.1, high: -0.9, regressor: undefined });
  assert.equal(
    readSlope(finding('s', 'convergence-speed', 'learning-time', '', { slope: -1 })),
    undefined,
  );
  const [a, b] = [slope(-0.9), slope(-1.1)];
  assert.deepEqual(assignSlopes([a, b], { norm: true, frequency: true }), {
    norm: a,
    frequency: b,
  });
  assert.deepEqual(assignSlopes([a], { norm: false, frequency: true }), { frequency: a });
  const coded = slope(-1.2, { regressor: 1 });
  assert.deepEqual(assignSlopes([coded, a], { norm: true, frequency: true }), {
    frequency: coded,
    norm: a,
  });
});

void test('failed-training, counterfactual and loss-comparison evidence', () => {
  assert.equal(
    isFailedTrial(finding('s', 'failed-training', 'stuck-at-chance', 't3', { finalLoss: 0.69 })),
    true,
  );
  assert.equal(
    isFailedTrial(finding('s', 'failed-training', 'diverged', 't4', { stepsDone: 9 })),
    true,
  );
  assert.equal(
    isFailedTrial(finding('s', 'failed-training', 'phase-map', '', { cells: 4 })),
    false,
  );
  assert.equal(
    isFailedTrainingFinding(finding('s', 'failed-training', 'phase-map', '', { cells: 4 })),
    true,
  );
  const cf = { feature: 1, otherFeature: 0, knockout: 1, ratio: 0.12 };
  assert.deepEqual(
    readCounterfactual(finding('s', 'starvation-counterfactual', 'counterfactual-ratio', 't1', cf)),
    { ratio: 0.12, feature: 1, otherFeature: 0 },
  );
  assert.equal(
    readCounterfactual(
      finding('s', 'starvation-counterfactual', 'counterfactual-ratio', 't1', {
        ...cf,
        knockout: 0,
      }),
    ),
    undefined,
    'a strength pair',
  );
  assert.equal(
    readCounterfactual(finding('s', 'starvation-counterfactual', 'starved-feature', 't1', cf)),
    undefined,
    'counted once',
  );
  assert.equal(
    readLossTimeRatio(finding('s', 'loss-comparison', 'loss-comparison', 't2', { timeRatio: 1.9 })),
    1.9,
  );
  assert.equal(
    readLossTimeRatio(
      finding('s', 'loss-comparison', 'loss-comparison-summary', '', { medianTimeRatio: 1.9 }),
    ),
    undefined,
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
