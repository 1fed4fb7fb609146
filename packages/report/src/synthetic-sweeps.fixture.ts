/**
 * Synthetic but realistic sweeps for the tests: real `CompiledTrial`s expanded from sweep specs by
 * @dynlab/spec, telemetry built from closed forms (sigmoid error curves in log time, probe outputs,
 * gradient shares that sum to 1), and the findings the analyzers would emit. No engine needed, and
 * every value a test checks is known exactly.
 */
import {
  compileSweep,
  expandSweep,
  type CompiledTrial,
  type Finding,
  type TelemetryColumns,
  type TrialOutcome,
} from '@dynlab/spec';
import { telemetryQuantities, type TheoryCurve, type TrialExtras } from './index';

/** One trial as the CLI would feed it. */
export interface SyntheticTrial {
  trial: CompiledTrial;
  outcome: TrialOutcome;
  telemetry: TelemetryColumns;
  extras?: TrialExtras;
}

/** A sweep's trials and findings, and the figures its report must draw. */
export interface SyntheticSweep {
  sweepId: string;
  name: string;
  axes: string[];
  trials: SyntheticTrial[];
  findings: Finding[];
  expectedFigures: string[];
}

/** ~100 log-spaced steps plus 0 and the last, as the engine records by default. */
export function logSteps(last: number, points = 100): number[] {
  const s = new Set<number>([0, last]);
  for (let k = 0; k < points; k++) s.add(Math.round(Math.exp((Math.log(last) * k) / (points - 1))));
  return [...s].sort((a, b) => a - b);
}

const falling = (t: number, tHalf: number, width: number, from: number, to: number) =>
  to + (from - to) / (1 + Math.exp((Math.log(Math.max(t, 1e-9)) - Math.log(tHalf)) / width));

/** A finding with the bookkeeping fields filled. */
export function finding(
  sweepId: string,
  analyzer: string,
  kind: string,
  trialId: string,
  evidence: Record<string, number>,
  severity: Finding['severity'] = 'info',
  relatedTrials: string[] = [],
): Finding {
  return {
    analyzer,
    analyzerVersion: '1.0.0',
    sweepId,
    trialId,
    kind,
    severity,
    evidence,
    message: `${kind}${trialId ? ` on ${trialId}` : ''}: ${Object.entries(evidence)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    relatedTrials,
    findingId: `${analyzer}:${sweepId}:${trialId}:${kind}:${Object.keys(evidence).join(',')}`,
    timeMs: 1_700_000_000_000,
  };
}

/** A learning-curve analyzer finding: the sigmoid of the error (no probe) or of a probe's output. */
export function curveFinding(
  sweepId: string,
  trial: CompiledTrial,
  learningStep: number,
  width: number,
  start: number,
  end: number,
  probe?: number,
): Finding {
  const which: Record<string, number> =
    probe === undefined ? { signal: 0 } : { signal: 1, probe, feature: probe };
  const f = finding(sweepId, 'learning-curve', 'learning-curve', trial.id, {
    ...which,
    learningStep,
    learningTime: trial.optimizer.learningRate * learningStep,
    width,
    start,
    end,
    r2: 0.999,
    sigmoidal: 1,
  });
  return { ...f, findingId: `${f.findingId}:${probe ?? 'error'}` };
}

interface Curves {
  tHalf: number;
  width: number;
  /** Final value of each probe output. */
  probeFinal: number[];
  /** Learning time of each probe output. */
  probeHalf: number[];
  failed?: boolean;
  /** Gradient share of feature 0 at the start (the rest split evenly), tending to 1/D. */
  share0: number;
}

/** Telemetry of a ReLU net trial from closed forms. */
export function makeTelemetry(
  trial: CompiledTrial,
  c: Curves,
  steps = logSteps(trial.steps),
): TelemetryColumns {
  const D = trial.inputDim;
  const P = trial.record.probes.length;
  const L = trial.widths.length - 1;
  const t: TelemetryColumns = {
    steps,
    loss: [],
    error: [],
    features: D,
    gradShare: [],
    probes: P,
    probeOutputs: [],
    layers: L,
    paramNorms: [],
    deadUnits: [],
    trainPoints: 0,
    trainOutputs: [],
  };
  for (const s of steps) {
    const e = c.failed ? 0.5 : falling(s, c.tHalf, c.width, 0.5, 0);
    t.error.push(e);
    t.loss.push(c.failed ? Math.LN2 : falling(s, c.tHalf, c.width, Math.LN2, 0.01));
    const drift = s / (s + c.tHalf);
    const s0 = c.share0 + (1 / D - c.share0) * drift;
    for (let j = 0; j < D; j++) t.gradShare.push(D === 1 ? 1 : j === 0 ? s0 : (1 - s0) / (D - 1));
    for (let j = 0; j < P; j++)
      t.probeOutputs.push(c.failed ? 0 : falling(s, c.probeHalf[j]!, c.width, 0, c.probeFinal[j]!));
    for (let l = 0; l < L; l++) t.paramNorms.push(1 + l + drift);
    for (let l = 0; l < L - 1; l++) t.deadUnits.push(c.failed ? 1 : 0.1 * drift);
  }
  return t;
}

const okOutcome = (t: TelemetryColumns, wallS: number): TrialOutcome => ({
  status: 'ok',
  finalLoss: t.loss[t.loss.length - 1]!,
  finalError: t.error[t.error.length - 1]!,
  stepsDone: t.steps[t.steps.length - 1]!,
  backend: 'wasm',
  wallS,
});

const num = (text: string | undefined) => Number(JSON.parse(text ?? 'null'));

/** Gradient starvation: feature 0 (in every sample) knocked out or not, with and without spectral decoupling. */
export function starvationSweep(): SyntheticSweep {
  const sweepId = 'swA';
  const spec = {
    name: 'starvation',
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
      model: { kind: 'relu', hidden: [16] },
      steps: 2000,
      record: {
        probes: [
          { name: 'e0', x: [1, 0] },
          { name: 'e1', x: [0, 1] },
        ],
      },
    },
    axes: [
      { path: 'data.features.features[0].knockedOut', values: [false, true] },
      { path: 'regularizer.spectralDecoupling', values: [0, 0.01] },
    ],
    seeds: 2,
  };
  const trials: SyntheticTrial[] = [];
  const findings: Finding[] = [];
  for (const trial of expandSweep(compileSweep(spec), sweepId)) {
    const out = trial.params['data.features.features[0].knockedOut'] === 'true';
    const sd = num(trial.params['regularizer.spectralDecoupling']) > 0;
    const tHalf = out ? 400 : 60 + 10 * trial.seedIndex;
    const rareFinal = out ? 3 : sd ? 1.5 : 0.3;
    const telemetry = makeTelemetry(trial, {
      tHalf,
      width: 0.5,
      probeFinal: [out ? 0 : 4, rareFinal],
      probeHalf: [60, out ? 400 : 700],
      share0: out ? 0 : 0.9,
    });
    trials.push({ trial, outcome: okOutcome(telemetry, 0.5), telemetry });
    findings.push(curveFinding(sweepId, trial, tHalf, 0.5, 0.5, 0));
    findings.push(curveFinding(sweepId, trial, out ? 400 : 700, 0.5, 0, rareFinal, 1));
    if (!out && !sd)
      findings.push(
        finding(
          sweepId,
          'gradient-share',
          'starved-feature',
          trial.id,
          { feature: 1, dominant: 0, share: 0.02, expectedShare: 0.17 },
          'alert',
        ),
      );
  }
  for (const a of trials.filter(
    (t) => t.trial.params['data.features.features[0].knockedOut'] === 'false',
  )) {
    const b = trials.find(
      (t) =>
        t !== a &&
        t.trial.seed === a.trial.seed &&
        t.trial.params['regularizer.spectralDecoupling'] ===
          a.trial.params['regularizer.spectralDecoupling'],
    )!;
    const rWith = a.telemetry.probeOutputs[a.telemetry.probeOutputs.length - 1]!;
    const rWithout = b.telemetry.probeOutputs[b.telemetry.probeOutputs.length - 1]!;
    const evidence = {
      feature: 1,
      otherFeature: 0,
      knockout: 1,
      responseWith: rWith,
      responseWithout: rWithout,
      ratio: rWith / rWithout,
      threshold: 0.5,
    };
    findings.push(
      finding(
        sweepId,
        'starvation-counterfactual',
        'counterfactual-ratio',
        a.trial.id,
        evidence,
        'info',
        [b.trial.id],
      ),
    );
    if (evidence.ratio < 0.5)
      findings.push(
        finding(
          sweepId,
          'starvation-counterfactual',
          'starved-feature',
          a.trial.id,
          evidence,
          'warning',
          [b.trial.id],
        ),
      );
  }
  return {
    sweepId,
    name: 'starvation',
    axes: spec.axes.map((a) => a.path),
    trials,
    findings,
    expectedFigures: [
      'error-curves',
      'probe-outputs',
      'gradient-shares',
      'starvation-counterfactual',
    ],
  };
}

/** Convergence speed: learning time 100 / (p r) over norm x frequency, with a diverged and a failed trial. */
export function speedSweep(): SyntheticSweep {
  const sweepId = 'swB';
  const spec = {
    name: 'speed',
    base: {
      data: { features: { n: 100, features: [{ frequency: 1, norm: 1 }] } },
      model: { kind: 'relu', hidden: [4] },
      steps: 5000,
      record: { probes: [{ name: 'e0', x: [1] }] },
    },
    axes: [
      { path: 'data.features.features[0].norm', values: [0.5, 1, 2, 4] },
      { path: 'data.features.features[0].frequency', values: [0.25, 0.5, 1] },
    ],
    seeds: 2,
  };
  const trials: SyntheticTrial[] = [];
  const findings: Finding[] = [];
  const all = [...expandSweep(compileSweep(spec), sweepId)];
  all.forEach((trial, i) => {
    const r = num(trial.params['data.features.features[0].norm']);
    const p = num(trial.params['data.features.features[0].frequency']);
    const tHalf = (100 / (p * r)) * (1 + 0.05 * trial.seedIndex);
    const telemetry = makeTelemetry(trial, {
      tHalf,
      width: 0.4,
      probeFinal: [3],
      probeHalf: [tHalf],
      share0: 1,
    });
    if (i === all.length - 2) {
      const cut = telemetry.steps.findIndex((s) => s > 2 * tHalf);
      const rows = telemetry.steps.length;
      for (const k of ['steps', ...telemetryQuantities] as const) {
        const width = telemetry[k].length / rows;
        telemetry[k].length = (cut + 1) * width;
      }
      telemetry.loss[cut] = NaN;
      trials.push({
        trial,
        telemetry,
        outcome: {
          status: 'diverged',
          finalLoss: NaN,
          finalError: telemetry.error[cut]!,
          stepsDone: telemetry.steps[cut]!,
          backend: 'wasm',
          wallS: 0.25,
        },
      });
      return;
    }
    if (i === all.length - 1) {
      const empty: TelemetryColumns = {
        steps: [],
        loss: [],
        error: [],
        features: 1,
        gradShare: [],
        probes: 1,
        probeOutputs: [],
        layers: 2,
        paramNorms: [],
        deadUnits: [],
        trainPoints: 0,
        trainOutputs: [],
      };
      trials.push({
        trial,
        telemetry: empty,
        outcome: {
          status: 'failed',
          finalLoss: NaN,
          finalError: NaN,
          stepsDone: 0,
          backend: 'wasm',
          wallS: 0,
          error: { code: 'BACKEND', message: 'worker crashed, "twice"' },
        },
      });
      return;
    }
    trials.push({ trial, outcome: okOutcome(telemetry, 0.1 + i / 100), telemetry });
    findings.push(curveFinding(sweepId, trial, tHalf, 0.4, 0.5, 0));
    findings.push(
      finding(sweepId, 'convergence-speed', 'learning-time', trial.id, {
        feature: 0,
        norm: r,
        frequency: p,
        learningStep: tHalf,
        learningTime: trial.optimizer.learningRate * tHalf,
        level: 0.5,
      }),
    );
  });
  for (const [k, slope] of [-0.98, -1.02].entries()) {
    const f = finding(sweepId, 'convergence-speed', 'convergence-slope', '', {
      slope,
      ciLow: slope - 0.07,
      ciHigh: slope + 0.07,
      theory: -1,
      regressors: 2,
      regressor: k,
      intercept: 2.3,
    });
    findings.push({ ...f, findingId: `${f.findingId}:${k}` });
  }
  return {
    sweepId,
    name: 'speed',
    axes: spec.axes.map((a) => a.path),
    trials,
    findings,
    expectedFigures: [
      'error-curves',
      'probe-outputs',
      'learning-time-vs-norm',
      'learning-time-vs-frequency',
    ],
  };
}

/** Failed training over the initial weights (w0, a0) of f = a relu(w x), under both losses, with the hinge closed form. */
export function phaseSweep(): SyntheticSweep {
  const sweepId = 'swC';
  const spec = {
    name: 'phase and losses',
    base: {
      data: { features: { n: 50, features: [{ frequency: 1, norm: 1 }] } },
      model: { kind: 'relu', hidden: [1] },
      init: {
        layers: [
          { layer: 0, weights: [0.5] },
          { layer: 1, weights: [0.5] },
        ],
      },
      steps: 3000,
      optimizer: { learningRate: 0.05 },
      record: { probes: [{ name: 'e0', x: [1] }] },
    },
    axes: [
      { path: 'init.layers[0].weights', values: [[-0.5], [0.25], [0.5], [1]] },
      { path: 'init.layers[1].weights', values: [[-1], [-0.25], [0.25], [1]] },
      { path: 'loss.kind', values: ['logistic', 'hinge'] },
    ],
  };
  const trials: SyntheticTrial[] = [];
  const findings: Finding[] = [];
  for (const trial of expandSweep(compileSweep(spec), sweepId)) {
    const w0 = (JSON.parse(trial.params['init.layers[0].weights']!) as number[])[0]!;
    const a0 = (JSON.parse(trial.params['init.layers[1].weights']!) as number[])[0]!;
    const failed = w0 <= 0 || a0 <= -w0;
    const hinge = trial.params['loss.kind'] === '"hinge"';
    const tHalf = hinge ? 80 : 150;
    const telemetry = makeTelemetry(trial, {
      tHalf,
      width: 0.3,
      probeFinal: [hinge ? 1 : 4],
      probeHalf: [tHalf],
      failed,
      share0: 1,
    });
    const f0 = Math.max(0, a0 * w0);
    const theory: TheoryCurve[] =
      hinge && !failed && f0 > 0
        ? [
            {
              quantity: 'probeOutputs',
              index: 0,
              steps: telemetry.steps,
              values: telemetry.steps.map((s) => Math.min(1, f0 * Math.exp(2 * 0.05 * s))),
            },
          ]
        : [];
    trials.push({ trial, outcome: okOutcome(telemetry, 0.05), telemetry, extras: { theory } });
    if (failed)
      findings.push(
        finding(
          sweepId,
          'failed-training',
          'stuck-at-chance',
          trial.id,
          { finalLoss: Math.LN2, chanceLoss: Math.LN2, progress: 0, deadUnits: 1 },
          'warning',
        ),
      );
    else findings.push(curveFinding(sweepId, trial, tHalf, 0.3, 0.5, 0));
    if (hinge && !failed)
      findings.push(
        finding(sweepId, 'loss-comparison', 'loss-comparison', trial.id, {
          timeRatio: 150 / 80,
          hingeStopped: 1,
          margin: 1,
        }),
      );
  }
  findings.push(
    finding(
      sweepId,
      'failed-training',
      'phase-map',
      '',
      { cells: 16, learnedCells: 8, failedCells: 8, mixedCells: 0 },
      'warning',
    ),
  );
  return {
    sweepId,
    name: 'phase and losses',
    axes: spec.axes.map((a) => a.path),
    trials,
    findings,
    expectedFigures: ['error-curves', 'probe-outputs', 'failed-training-phase', 'loss-comparison'],
  };
}

/** Many trials with many features: `points` learning rates x 2 seeds, D = `features`; for the bounded-memory test. */
export function wideSweep(points: number, features: number): SyntheticSweep {
  const sweepId = 'swW';
  const spec = {
    name: 'wide',
    base: {
      data: {
        features: {
          n: 100,
          features: Array.from({ length: features }, (_, j) => ({
            frequency: 1 / (1 + j),
            norm: 1,
          })),
        },
      },
      model: { kind: 'relu', hidden: [8] },
      steps: 1000,
      record: {
        probes: [{ name: 'e0', x: Array.from({ length: features }, (_, j) => (j === 0 ? 1 : 0)) }],
      },
    },
    axes: [
      {
        path: 'optimizer.learningRate',
        values: Array.from({ length: points / 2 }, (_, i) => 0.01 * (i + 1)),
      },
    ],
    seeds: 2,
  };
  const trials = [...expandSweep(compileSweep(spec), sweepId)].map((trial) => {
    const lr = num(trial.params['optimizer.learningRate']);
    const telemetry = makeTelemetry(trial, {
      tHalf: 5 / lr,
      width: 0.5,
      probeFinal: [2],
      probeHalf: [5 / lr],
      share0: 0.7,
    });
    return { trial, outcome: okOutcome(telemetry, 0.01), telemetry };
  });
  return {
    sweepId,
    name: 'wide',
    axes: spec.axes.map((a) => a.path),
    trials,
    findings: [],
    expectedFigures: ['error-curves', 'probe-outputs', 'gradient-shares'],
  };
}
