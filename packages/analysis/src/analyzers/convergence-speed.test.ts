import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '@dynlab/spec';
import {
  collectingHost,
  featureTrial,
  hingeMode,
  logSteps,
  ofKind,
  okOutcome,
  responseSeries,
} from '../test-support';
import { convergenceSpeedAnalyzer } from './convergence-speed';

const steps = logSteps(100_000, 200);

/** Runs the analyzer over one trial per (frequency, norm), each response f0 exp(2 p r^power t) (as the probe output f / r). */
async function slopes(points: [number, number][], power = 1): Promise<Finding[]> {
  const { host, findings } = collectingHost([{ definition: convergenceSpeedAnalyzer }]);
  for (const [i, [p, r]] of points.entries()) {
    const t = featureTrial(`t${i}`, [[p, r]]);
    const f = hingeMode(p, r ** power, 1e-3, 10);
    await host.chunk('s', t, responseSeries(steps, t.optimizer.learningRate, [(tt) => f(tt) / r]));
    await host.trialEnd('s', t, okOutcome());
  }
  await host.sweepEnd('s');
  return findings;
}

test('a norm sweep on the closed form gives a slope of -1 with an interval around it', async () => {
  const findings = await slopes([0.5, 1, 2, 4].map((r) => [1, r]));
  assert.equal(ofKind(findings, 'learning-time').length, 4);
  const [s] = ofKind(findings, 'convergence-slope');
  assert.ok(Math.abs(s!.evidence.slope! + 1) < 0.01, String(s!.evidence.slope));
  assert.ok(s!.evidence.ciLow! <= -1 && s!.evidence.ciHigh! >= -1);
  assert.equal(s!.evidence.points, 4);
  assert.equal(s!.evidence.regressors, 1);
  assert.equal(s!.severity, 'info');
  assert.match(s!.message, /ln\(norm\)/);
});

test('a frequency x norm grid fits both slopes together', async () => {
  const findings = await slopes(
    [0.1, 0.3, 0.9].flatMap((p) => [0.5, 2].map((r) => [p, r] as [number, number])),
  );
  const bySlope = ofKind(findings, 'convergence-slope').map((f) => [
    f.evidence.regressor,
    f.message.match(/ln\((\w+)\)/)![1],
    Number(f.evidence.slope!.toFixed(2)),
    f.evidence.regressors,
  ]);
  assert.deepEqual(bySlope, [
    [0, 'norm', -1, 2],
    [1, 'frequency', -1, 2],
  ]);
});

test('a slope far from -1 is flagged', async () => {
  const findings = await slopes(
    [0.5, 1, 2, 4].map((r) => [1, r]),
    0.5,
  );
  const [s] = ofKind(findings, 'convergence-slope');
  assert.ok(Math.abs(s!.evidence.slope! + 0.5) < 0.01, String(s!.evidence.slope));
  assert.equal(s!.severity, 'warning');
});
