/**
 * The reference's backpropagation against central finite differences of its own objective, in
 * float64, for every model, loss, reduction and regularizer. Tolerance: |analytic - numeric| <=
 * 1e-6 * (1 + |analytic|) with step 1e-6 (the truncation error is ~1e-12 and the rounding error
 * ~1e-10 at these magnitudes; the data keep every sample away from the ReLU and hinge kinks).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrial, type CompiledTrial } from '@dynlab/spec';
import { objective, toFloat64, type ReferenceParams } from './index';

const n = 6;
const dim = 3;
let seed = 7;
const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1;
const x = Array.from({ length: n * dim }, rand);
const y = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1));

function trialOf(
  kind: 'linear' | 'deepLinear' | 'relu',
  loss: 'logistic' | 'hinge' | 'squared',
  reduction: 'mean' | 'sum',
  bias: boolean,
  sd: number,
): CompiledTrial {
  return compileTrial({
    data: { inline: { n, dim, x, y } },
    model: { kind, hidden: kind === 'linear' ? [] : [4, 3], bias },
    loss: { kind: loss, reduction, margin: 2 },
    regularizer: { spectralDecoupling: sd },
  });
}

function randomParams(t: CompiledTrial): ReferenceParams {
  const w = t.widths;
  return toFloat64({
    weights: w.slice(1).map((out, l) => Array.from({ length: out * w[l]! }, () => rand() * 0.8)),
    biases: w
      .slice(1)
      .map((out) => Array.from({ length: out }, () => (t.model.bias ? rand() * 0.3 : 0))),
  });
}

const all = Array.from({ length: n }, (_, i) => i);

for (const kind of ['linear', 'deepLinear', 'relu'] as const)
  for (const loss of ['logistic', 'hinge', 'squared'] as const)
    for (const reduction of ['mean', 'sum'] as const)
      test(`backprop = finite differences: ${kind}, ${loss}, ${reduction}, biases, spectral decoupling`, () => {
        const t = trialOf(kind, loss, reduction, true, 0.3);
        const p = randomParams(t);
        const g = objective(t, p, { x, y }, all).gradient;
        const h = 1e-6;
        let checked = 0;
        for (const part of ['weights', 'biases'] as const)
          p[part].forEach((arr, l) =>
            arr.forEach((v, i) => {
              arr[i] = v + h;
              const up = objective(t, p, { x, y }, all).value;
              arr[i] = v - h;
              const down = objective(t, p, { x, y }, all).value;
              arr[i] = v;
              const numeric = (up - down) / (2 * h);
              const analytic = g[part][l]![i]!;
              assert.ok(
                Math.abs(analytic - numeric) <= 1e-6 * (1 + Math.abs(analytic)),
                `${part}[${l}][${i}]: ${analytic} vs ${numeric}`,
              );
              checked++;
            }),
          );
        assert.ok(checked > 0);
      });

test('without biases the bias gradients are zero and the objective ignores given biases', () => {
  const t = trialOf('relu', 'logistic', 'mean', false, 0);
  const p = randomParams(t);
  const g = objective(t, p, { x, y }, all).gradient;
  assert.ok(g.biases.every((b) => b.every((v) => v === 0)));
});

test('spectral decoupling adds coef * R(f^2) to the objective', () => {
  const plain = trialOf('relu', 'squared', 'sum', true, 0);
  const withSd = trialOf('relu', 'squared', 'sum', true, 0.25);
  const p = randomParams(plain);
  const a = objective(plain, p, { x, y }, all);
  const b = objective(withSd, p, { x, y }, all);
  const f2 = a.outputs.reduce((s, f) => s + f * f, 0);
  assert.equal(a.dataLoss, b.dataLoss);
  assert.ok(Math.abs(b.value - (a.value + 0.25 * f2)) < 1e-12);
});
