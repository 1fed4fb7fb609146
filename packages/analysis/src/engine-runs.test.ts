/**
 * The built-in analyzers on trials run by the engine, whose outcome is known from the papers and
 * the closed forms: starvation with its knock-out control and spectral decoupling, convergence
 * speed ~ 1/(p r), the failed-training phase diagram over the initial weights, and hinge against
 * cross-entropy. Telemetry reaches the host in chunks as the engine records it, the way the
 * analyzer service feeds it. The runs are kept small (a few hundred to a few thousand steps of tiny
 * networks) so that the whole file takes seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPopulation, theory } from '@dynlab/engine';
import {
  compileSweep,
  expandSweep,
  shapeKey,
  type CompiledTrial,
  type Finding,
} from '@dynlab/spec';
import type { AnalyzerEntry } from './analyzer-host';
import type { MemoryMetrics } from './analyzer-metrics';
import { builtinAnalyzers } from './builtin-analyzers';
import { convergenceSpeedAnalyzer } from './analyzers/convergence-speed';
import { failedTrainingAnalyzer } from './analyzers/failed-training';
import { gradientShareAnalyzer } from './analyzers/gradient-share';
import { createLearningCurveAnalyzer } from './analyzers/learning-curve';
import { lossComparisonAnalyzer } from './analyzers/loss-comparison';
import { starvationCounterfactualAnalyzer } from './analyzers/starvation-counterfactual';
import { collectingHost, ofKind } from './test-support';
import { groupBy } from './trial-key';

/** Expands the sweep, runs each shape as one population, streams the telemetry into a host, ends the sweep. */
async function runSweep(
  input: unknown,
  analyzers: AnalyzerEntry[],
): Promise<{ trials: CompiledTrial[]; findings: Finding[]; metrics: MemoryMetrics }> {
  const sweep = compileSweep(input);
  const trials = [...expandSweep(sweep, 'sw')];
  const { host, findings, metrics } = collectingHost(analyzers);
  await host.openSweep('sw', sweep);
  for (const group of groupBy(trials, shapeKey).values()) {
    const fed: Promise<void>[] = [];
    const r = await runPopulation(group, {
      chunkPoints: 40,
      onTelemetry: (i, chunk) => void fed.push(host.chunk('sw', group[i]!, chunk)),
    });
    await Promise.all(fed);
    for (const [i, t] of group.entries()) {
      assert.equal(r.outcomes[i]!.status, 'ok', `trial ${t.id} ${JSON.stringify(t.params)}`);
      await host.trialEnd('sw', t, r.outcomes[i]!);
    }
  }
  await host.sweepEnd('sw');
  assert.deepEqual(ofKind(findings, 'analyzer-error'), []);
  return { trials, findings, metrics };
}

const param = (trials: CompiledTrial[], id: string, path: string) =>
  JSON.parse(trials.find((t) => t.id === id)!.params[path]!) as unknown;

test('starvation sweep: the rare feature is starved with the frequent one present, never with it knocked out', async () => {
  const ko = 'data.features.features[0].knockedOut';
  const { trials, findings } = await runSweep(
    {
      base: {
        data: {
          features: {
            n: 200,
            features: [
              { frequency: 1, norm: 1 },
              { frequency: 0.2, norm: 1 },
            ],
          },
        },
        model: { kind: 'relu', hidden: [20] },
        init: { scale: 0.1 },
        optimizer: { learningRate: 0.5 },
        steps: 2000,
        record: { logPoints: 60, probes: [{ x: [1, 0] }, { x: [0, 1] }] },
      },
      axes: [{ path: ko, values: [false, true] }],
      seeds: 3,
    },
    [{ definition: gradientShareAnalyzer }, { definition: starvationCounterfactualAnalyzer }],
  );
  const present = trials.filter((t) => param(trials, t.id, ko) === false).map((t) => t.id);
  for (const analyzer of ['gradient-share', 'starvation-counterfactual']) {
    const starved = ofKind(findings, 'starved-feature').filter((f) => f.analyzer === analyzer);
    assert.deepEqual(
      starved.map((f) => f.trialId).sort(),
      present,
      `${analyzer}: one finding per trial with the frequent feature present`,
    );
    for (const f of starved) {
      assert.equal(f.evidence.feature, 1, `${analyzer}: the rare feature is the starved one`);
      assert.ok(f.evidence.ratio! < 0.5, `${analyzer}: ratio ${f.evidence.ratio}`);
    }
  }
  for (const f of ofKind(findings, 'starved-feature').filter(
    (x) => x.analyzer === 'gradient-share',
  ))
    assert.equal(f.evidence.dominant, 0);
  const shares = ofKind(findings, 'gradient-share').filter((f) => !present.includes(f.trialId));
  assert.deepEqual(
    shares.map((f) => f.evidence.dominant),
    [1, 1, 1],
    'knocked out: the rare feature takes all the gradient',
  );
});

test('spectral decoupling moves the counterfactual ratio to 1 where the theory decouples: a stronger frequent feature', async () => {
  // Linear model, the frequent feature in 98% of the samples at norm 0.5 or 4: without the penalty
  // the stronger it is, the less the rare feature is learned; with it, the rare feature's response
  // at the steady state depends on its own strength only.
  const { findings } = await runSweep(
    {
      base: {
        data: {
          features: {
            n: 400,
            features: [
              { frequency: 0.98, norm: 1 },
              { frequency: 0.5, norm: 1 },
            ],
          },
        },
        model: { kind: 'linear' },
        init: { scale: 0.1 },
        optimizer: { learningRate: 0.5 },
        steps: 4000,
        record: {
          logPoints: 40,
          quantities: ['loss', 'probeOutputs'],
          probes: [{ x: [1, 0] }, { x: [0, 1] }],
        },
      },
      axes: [
        { path: 'data.features.features[0].norm', values: [0.5, 4] },
        { path: 'regularizer.spectralDecoupling', values: [0, 0.003] },
      ],
      seeds: 2,
    },
    [{ definition: starvationCounterfactualAnalyzer }],
  );
  const summary = (sd: number) =>
    ofKind(findings, 'counterfactual-summary').find(
      (f) => f.evidence.spectralDecoupling === sd && f.evidence.feature === 1,
    )!;
  const plain = summary(0).evidence,
    decoupled = summary(0.003).evidence;
  assert.deepEqual(
    [plain.pairs, decoupled.pairs, plain.otherFeature, plain.strengthWith, plain.strengthWithout],
    [2, 2, 0, 0.98 * 4, 0.98 * 0.5],
  );
  assert.ok(
    plain.meanRatio! < 0.9,
    `without spectral decoupling the stronger frequent feature starves the rare one: ratio ${plain.meanRatio}`,
  );
  assert.ok(
    Math.abs(1 - decoupled.meanRatio!) < 0.02,
    `with it the ratio is 1: ${decoupled.meanRatio}`,
  );
  assert.ok(Math.abs(1 - decoupled.meanRatio!) < Math.abs(1 - plain.meanRatio!) / 4);
});

/** One mode of a two-layer ReLU net with one hidden unit (the closed form's case), the start balanced at f0. */
const modeBase = (f0: number, extra: Record<string, unknown> = {}) => ({
  data: { features: { n: 64, features: [{ frequency: 1, norm: 1 }] } },
  model: { kind: 'relu', hidden: [1] },
  init: {
    layers: [
      { layer: 0, weights: [Math.sqrt(f0)] },
      { layer: 1, weights: [Math.sqrt(f0)] },
    ],
  },
  optimizer: { learningRate: 0.02 },
  steps: 5000,
  record: { logPoints: 200, quantities: ['loss', 'error', 'probeOutputs'], probes: [{ x: [1] }] },
  ...extra,
});

test('convergence speed: slopes of ln(learning time) on ln(norm) and on ln(frequency) are -1 within 0.15', async () => {
  const f0 = 0.01;
  const norms = [0.5, 1, 2, 4];
  const byNorm = await runSweep(
    {
      base: modeBase(f0),
      mode: 'zip',
      axes: [
        { path: 'data.features.features[0].norm', values: norms },
        { path: 'init.layers[0].weights', values: norms.map((r) => [Math.sqrt(f0 / r)]) },
        { path: 'init.layers[1].weights', values: norms.map((r) => [Math.sqrt(f0 / r)]) },
      ],
    },
    [
      { definition: convergenceSpeedAnalyzer },
      { definition: createLearningCurveAnalyzer({ theory }) },
    ],
  );
  const byFrequency = await runSweep(
    {
      base: modeBase(f0),
      axes: [{ path: 'data.features.features[0].frequency', values: [0.125, 0.25, 0.5, 1] }],
    },
    [{ definition: convergenceSpeedAnalyzer }],
  );
  for (const [what, findings] of [
    ['norm', byNorm.findings],
    ['frequency', byFrequency.findings],
  ] as const) {
    const slopes = ofKind(findings, 'convergence-slope');
    assert.equal(slopes.length, 1, what);
    const s = slopes[0]!;
    assert.match(s.message, new RegExp(`ln\\(${what}\\)`));
    assert.ok(
      Math.abs(s.evidence.slope! + 1) < 0.15,
      `${what}: slope ${s.evidence.slope} (CI ${s.evidence.ciLow} to ${s.evidence.ciHigh})`,
    );
    assert.equal(s.evidence.points, 4);
  }
  const cmp = ofKind(byNorm.findings, 'theory-comparison');
  assert.equal(cmp.length, 4, 'every trial of the norm sweep is a closed-form case');
  for (const c of cmp)
    assert.equal(
      c.severity,
      'info',
      `the engine follows the theory: ${JSON.stringify(c.evidence)}`,
    );
});

test('failed training: the phase map over (w0, a0) matches the closed-form condition in every cell', async () => {
  const w0s = [-0.3, -0.1, 0.1, 0.3];
  const a0s = [-0.5, -0.2, 0.2, 0.5];
  const { findings } = await runSweep(
    {
      base: {
        data: {
          inline: { n: 8, dim: 1, x: [1, 1, 1, 1, 0, 0, 0, 0], y: [1, 1, 1, 1, 1, 1, 1, 1] },
        },
        model: { kind: 'relu', hidden: [1] },
        init: {
          layers: [
            { layer: 0, weights: [0.1] },
            { layer: 1, weights: [0.1] },
          ],
        },
        optimizer: { learningRate: 0.05 },
        steps: 1500,
        record: { logPoints: 30, probes: [{ x: [1] }] },
      },
      axes: [
        { path: 'init.layers[0].weights', values: w0s.map((w) => [w]) },
        { path: 'init.layers[1].weights', values: a0s.map((a) => [a]) },
      ],
    },
    [{ definition: failedTrainingAnalyzer }],
  );
  const cells = ofKind(findings, 'phase-cell');
  assert.equal(cells.length, 16);
  for (const c of cells) {
    const w0 = c.evidence['init.layers[0].weights[0]']!,
      a0 = c.evidence['init.layers[1].weights[0]']!;
    assert.ok(
      Math.abs(w0) >= 0.099 && Math.abs(a0 + w0) >= 0.099,
      'every cell is at least 0.1 away from the boundary',
    );
    assert.equal(
      c.evidence.learnedFraction,
      theory.modeLearns({ a0, w0 }) ? 1 : 0,
      `w0=${w0} a0=${a0}: ${c.message}`,
    );
  }
  const [map] = ofKind(findings, 'phase-map');
  assert.equal(
    map!.evidence.learnedCells,
    w0s.filter((w) => w > 0).reduce((n, w) => n + a0s.filter((a) => a > -w).length, 0),
  );
  assert.equal(map!.evidence.mixedCells, 0);
  assert.equal(ofKind(findings, 'stuck-at-chance').length, 16 - map!.evidence.learnedCells!);
});

test('hinge vs cross-entropy: hinge learns faster and stops at its margin; cross-entropy keeps growing', async () => {
  const { findings } = await runSweep(
    { base: modeBase(0.01), axes: [{ path: 'loss.kind', values: ['logistic', 'hinge'] }] },
    [{ definition: lossComparisonAnalyzer }],
  );
  const [pair] = ofKind(findings, 'loss-comparison');
  const e = pair!.evidence;
  assert.ok(e.timeRatio! > 1, `time ratio ${e.timeRatio}`);
  // Closed forms (p = 1/2: the positive carriers, r = 1, f0 = 0.01): ratio = 1 + (Ei(1/2) - Ei(f0)) / ln(1/2 / f0).
  const want = 1 + (theory.ei(0.5) - theory.ei(0.01)) / Math.log(50);
  assert.ok(
    Math.abs(e.timeRatio! / want - 1) < 0.05,
    `time ratio ${e.timeRatio} vs closed form ${want}`,
  );
  assert.equal(e.hingeStopped, 1);
  assert.ok(Math.abs(e.hingeFinal! - 1) < 0.05, `hinge final output ${e.hingeFinal}`);
  assert.ok(e.ceFinal! > e.hingeFinal!, 'cross-entropy goes past the margin');
  assert.ok(e.ceGrowthPerLogStep! > 0.3, `cross-entropy margin growth ${e.ceGrowthPerLogStep}`);
});

test('every built-in on one engine sweep: no errors, and metric labels from a fixed set of kinds', async () => {
  const { findings, metrics } = await runSweep(
    {
      base: {
        data: {
          features: {
            n: 100,
            features: [
              { frequency: 1, norm: 1 },
              { frequency: 0.3, norm: 1 },
            ],
          },
        },
        model: { kind: 'relu', hidden: [8] },
        init: { scale: 0.1 },
        optimizer: { learningRate: 0.5 },
        steps: 500,
        record: { logPoints: 30, probes: [{ x: [1, 0] }, { x: [0, 1] }] },
      },
      axes: [
        { path: 'data.features.features[0].knockedOut', values: [false, true] },
        { path: 'loss.kind', values: ['logistic', 'hinge'] },
        { path: 'init.scale', values: [0.1, 0.2] },
      ],
    },
    builtinAnalyzers.map((definition) => ({ definition })),
  );
  const kinds = new Set([
    'gradient-share',
    'starved-feature',
    'counterfactual-ratio',
    'counterfactual-summary',
    'learning-curve',
    'non-sigmoidal',
    'theory-comparison',
    'learning-time',
    'convergence-slope',
    'stuck-at-chance',
    'diverged',
    'phase-cell',
    'phase-map',
    'loss-comparison',
    'loss-comparison-summary',
    'mode-order',
    'mode-independence',
  ]);
  const names = new Set(builtinAnalyzers.map((a) => a.name));
  assert.ok(metrics.findings.size > 0);
  for (const key of metrics.findings.keys()) {
    const [analyzer, sweep, kind, severity] = key.split('|');
    assert.ok(
      names.has(analyzer!) &&
        sweep === 'sw' &&
        kinds.has(kind!) &&
        ['info', 'warning', 'alert'].includes(severity!),
      key,
    );
  }
  const emitting = new Set(findings.map((f) => f.analyzer));
  for (const n of [
    'gradient-share',
    'starvation-counterfactual',
    'learning-curve',
    'loss-comparison',
    'modes',
    'failed-training',
  ])
    assert.ok(emitting.has(n), `${n} found something`);
});
