/**
 * The hand-written gradients against TensorFlow.js autodiff (`tf.grads` of the plainly written
 * objective J = data loss + spectral decoupling + weight decay), for every model kind, depth, bias
 * setting, loss and reduction, with per-trial coefficients that differ across the population.
 */
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend';
import {
  forward,
  gradients,
  objective,
  outputGrad,
  type GroupParams,
  type ModelShape,
} from './tfjs-model';
import { assertClose } from './test-support';

const D = 3;
const B = 7;
const G = 3;

function setup(widths: number[], seed: number, bias: boolean) {
  const h1 = widths[1]!;
  const cols = bias ? D + 1 : D;
  const p: GroupParams = {
    w0: tf.randomNormal([G * h1, cols], 0, 0.7, 'float32', seed),
    ws: widths
      .slice(2)
      .map((out, k) => tf.randomNormal([G, out, widths[k + 1]!], 0, 0.7, 'float32', seed + 1 + k)),
    bs: widths
      .slice(2)
      .map((out, k) => tf.randomNormal([G, out, 1], 0, 0.3, 'float32', seed + 11 + k)),
  };
  const raw = tf.randomNormal([B, D], 0, 1, 'float32', seed + 21) as tf.Tensor2D;
  const x: tf.Tensor2D = bias ? tf.concat([raw, tf.ones([B, 1])], 1) : raw;
  const y = tf.sign(tf.randomNormal([1, 1, B], 0, 1, 'float32', seed + 22)) as tf.Tensor3D;
  return { p, batch: { x, xt: tf.transpose(x), y } };
}

describe('hand-written gradients match autodiff', () => {
  before(async () => {
    await initBackend('cpu');
  });
  const models: { kind: ModelShape['kind']; hidden: number[]; bias: boolean }[] = [
    { kind: 'linear', hidden: [], bias: true },
    { kind: 'linear', hidden: [], bias: false },
    { kind: 'deepLinear', hidden: [4], bias: false },
    { kind: 'deepLinear', hidden: [4, 3], bias: true },
    { kind: 'relu', hidden: [5], bias: true },
    { kind: 'relu', hidden: [5], bias: false },
    { kind: 'relu', hidden: [5, 4], bias: true },
    { kind: 'relu', hidden: [3, 4, 2], bias: false },
  ];
  for (const m of models)
    for (const loss of ['logistic', 'hinge', 'squared'] as const)
      for (const reduction of ['mean', 'sum'] as const) {
        it(`${m.kind} [${m.hidden.join(',')}]${m.bias ? ' with biases' : ''}, ${loss}, ${reduction}`, () => {
          const widths = [D, ...m.hidden, 1];
          const shape: ModelShape = {
            kind: m.kind,
            widths,
            loss,
            reduction,
            bias: m.bias,
            size: G,
          };
          tf.tidy(() => {
            const { p, batch } = setup(
              widths,
              17 + m.hidden.length * 5 + (m.kind === 'relu' ? 1 : 0),
              m.bias,
            );
            const coefs = {
              margin: tf.tensor3d([1, 0.7, 1.3], [G, 1, 1]),
              spectralDecoupling: tf.tensor3d([0, 0.1, 0.3], [G, 1, 1]),
            };
            const wd = tf.tensor1d([0.05, 0, 0.2]);
            const fw = forward(shape, p, batch.xt);
            const g = gradients(shape, p, fw, outputGrad(shape, fw.f, batch.y, coefs), batch.x);
            // Without biases the later biases are not part of the model (and not trained): only weights are compared.
            const flat = m.bias ? [p.w0, ...p.ws, ...p.bs] : [p.w0, ...p.ws];
            const k = p.ws.length;
            const auto = tf.grads((...ts: tf.Tensor[]) =>
              tf.sum(
                objective(
                  shape,
                  {
                    w0: ts[0] as tf.Tensor2D,
                    ws: ts.slice(1, 1 + k) as tf.Tensor3D[],
                    bs: m.bias ? (ts.slice(1 + k) as tf.Tensor3D[]) : p.bs,
                  },
                  batch,
                  coefs,
                  wd,
                ),
              ),
            )(flat);
            const h1 = widths[1]!;
            const decayRows = tf.reshape(tf.tile(tf.reshape(wd, [G, 1]), [1, h1]), [G * h1, 1]);
            const decay3 = tf.reshape(wd, [G, 1, 1]);
            const mine = (m.bias ? [g.w0, ...g.ws, ...g.bs] : [g.w0, ...g.ws]).map((t, i) =>
              tf.add(t, tf.mul(i === 0 ? decayRows : decay3, flat[i]!)),
            );
            mine.forEach((t, i) =>
              assertClose(t.dataSync(), auto[i]!.dataSync(), 2e-5, `param ${i}`),
            );
          });
        });
      }
});
