/**
 * `runReference` against closed forms: the linear model with squared loss under GD on data with
 * orthogonal directions (each weight relaxes geometrically to its target), Adam's first step
 * (each parameter moves by lr * g / (|g| + eps)), frozen layers, and the minibatch order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrial } from '@dynlab/spec';
import { batchRows, epochOrder, objective, runReference, toFloat64 } from './index';

// Rows (r1, 0), (-r1, 0), (0, r2), (0, -r2) with labels +1, -1, +1, -1: X^T X / n = diag(r^2 / 2),
// X^T y / n = r / 2, so with f = w.x, J = ((r1 w1 - 1)^2 + (r2 w2 - 1)^2) / 4 and under GD
// w_j(t) = 1/r_j + (1 - lr r_j^2 / 2)^t (w_j(0) - 1/r_j).
const r = [1.5, 0.5];
const x = [r[0]!, 0, -r[0]!, 0, 0, r[1]!, 0, -r[1]!];
const y = [1, -1, 1, -1];

test('linear model, squared loss, mean, GD: the closed-form trajectory', () => {
  const lr = 0.3;
  const trial = compileTrial({
    data: { inline: { n: 4, dim: 2, x, y } },
    model: { kind: 'linear' },
    loss: { kind: 'squared' },
    optimizer: { kind: 'gd', learningRate: lr },
    steps: 200,
    record: {
      quantities: ['loss', 'error', 'paramNorms', 'gradShare'],
      probes: [{ x: [1, 0] }, { x: [0, 1] }],
    },
  });
  const w0 = [0.2, -0.1];
  const steps = [0, 1, 10, 200];
  const got = runReference(trial, { x, y }, { weights: [w0], biases: [[0]] }, steps);
  steps.forEach((t, k) => {
    const w = w0.map((v, j) => 1 / r[j]! + (1 - (lr * r[j]! ** 2) / 2) ** t * (v - 1 / r[j]!));
    const loss = ((r[0]! * w[0]! - 1) ** 2 + (r[1]! * w[1]! - 1) ** 2) / 4;
    const m = got[k]!;
    assert.equal(m.step, t);
    assert.ok(
      Math.abs(m.loss - loss) <= 1e-12 * Math.max(1, loss),
      `step ${t}: loss ${m.loss} vs ${loss}`,
    );
    assert.ok(
      Math.abs(m.probeOutputs[0]! - w[0]!) < 1e-12 && Math.abs(m.probeOutputs[1]! - w[1]!) < 1e-12,
    );
    assert.ok(Math.abs(m.paramNorms[0]! - Math.hypot(w[0]!, w[1]!)) < 1e-12);
    const g = [(r[0]! * (r[0]! * w[0]! - 1)) / 2, (r[1]! * (r[1]! * w[1]! - 1)) / 2];
    const share = g[0]! ** 2 / (g[0]! ** 2 + g[1]! ** 2);
    assert.ok(
      Math.abs(m.gradShare[0]! - share) < 1e-9,
      `step ${t}: share ${m.gradShare[0]} vs ${share}`,
    );
  });
  assert.equal(got[0]!.error, 0.5);
  assert.equal(got[3]!.error, 0);
});

test('sum reduction is n times the mean loss and takes n times larger steps', () => {
  const base = {
    data: { inline: { n: 4, dim: 2, x, y } },
    model: { kind: 'linear' as const },
    steps: 5,
  };
  const mean = compileTrial({
    ...base,
    loss: { kind: 'squared', reduction: 'mean' },
    optimizer: { learningRate: 0.4 },
  });
  const sum = compileTrial({
    ...base,
    loss: { kind: 'squared', reduction: 'sum' },
    optimizer: { learningRate: 0.1 },
  });
  const p = { weights: [[0.3, 0.7]], biases: [[0]] };
  const a = runReference(mean, { x, y }, p, [5])[0]!;
  const b = runReference(sum, { x, y }, p, [5])[0]!;
  assert.ok(Math.abs(b.loss - 4 * a.loss) < 1e-12);
});

test("Adam's first step moves every trainable parameter by lr * g / (|g| + eps); frozen layers stay", () => {
  const trial = compileTrial({
    data: { inline: { n: 4, dim: 2, x, y } },
    model: {
      kind: 'relu',
      hidden: [3],
      bias: true,
      trainable: [false, true],
      biasTrainable: [true, false],
    },
    optimizer: { kind: 'adam', learningRate: 0.01, epsilon: 1e-3 },
    steps: 1,
    record: { quantities: ['paramNorms'] },
  });
  const params = {
    weights: [
      [0.5, -0.2, 0.1, 0.4, -0.3, 0.6],
      [0.7, -0.5, 0.2],
    ],
    biases: [[0.1, 0.05, -0.02], [0.3]],
  };
  const g = objective(trial, toFloat64(params), { x, y }, [0, 1, 2, 3]).gradient;
  const moved = (v: number, gi: number) => v - (0.01 * gi) / (Math.abs(gi) + 1e-3);
  const layer0 = [
    ...params.weights[0]!,
    ...params.biases[0]!.map((v, i) => moved(v, g.biases[0]![i]!)),
  ];
  const layer1 = [
    ...params.weights[1]!.map((v, i) => moved(v, g.weights[1]![i]!)),
    ...params.biases[1]!,
  ];
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, e) => s + e * e, 0));
  const m = runReference(trial, { x, y }, params, [1])[0]!;
  assert.ok(
    Math.abs(m.paramNorms[0]! - norm(layer0)) < 1e-12,
    `${m.paramNorms[0]} vs ${norm(layer0)}`,
  );
  assert.ok(
    Math.abs(m.paramNorms[1]! - norm(layer1)) < 1e-12,
    `${m.paramNorms[1]} vs ${norm(layer1)}`,
  );
  assert.ok(
    g.weights[0]!.some((v) => v !== 0),
    'the frozen layer has a gradient it must ignore',
  );
});

test('the minibatch order is a permutation per epoch, sliced into consecutive batches', () => {
  const order = epochOrder(42, 10, 3);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.notDeepEqual(order, epochOrder(42, 10, 4));
  assert.notDeepEqual(order, epochOrder(43, 10, 3));
  assert.deepEqual(batchRows(42, 10, 3, 9), order.slice(0, 3));
  assert.deepEqual(batchRows(42, 10, 3, 10), order.slice(3, 6));
});

test('a diverging learning rate is reported at the first non-finite step', () => {
  const trial = compileTrial({
    data: { inline: { n: 4, dim: 2, x, y } },
    model: { kind: 'linear' },
    loss: { kind: 'squared' },
    optimizer: { learningRate: 1e30 },
    steps: 40,
    record: { quantities: ['loss'] },
  });
  const m = runReference(trial, { x, y }, { weights: [[0.2, -0.1]], biases: [[0]] }, [40])[0]!;
  assert.ok(m.divergedAt > 0 && m.divergedAt < 40, `divergedAt ${m.divergedAt}`);
  assert.ok(!Number.isFinite(m.loss));
});
