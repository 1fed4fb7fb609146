import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initParams } from './init-params';
import { makeTrial } from './test-support';

const gaussianData = (dim: number) => ({ gaussian: { n: 4, dim } });

function std(a: Float32Array): number {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
}

describe('initParams', () => {
  it('draws Gaussian weights of the given scale, or scale/sqrt(fan-in), and no biases by default', () => {
    const p = initParams(
      makeTrial({ data: gaussianData(100), model: { hidden: [200] }, init: { scale: 0.5 } }),
    );
    assert.equal(p.weights[0]!.length, 200 * 100);
    assert.equal(p.weights[1]!.length, 200);
    assert.ok(Math.abs(std(p.weights[0]!) - 0.5) < 0.02, `std ${std(p.weights[0]!)}`);
    assert.ok(p.biases.every((b) => b.every((v) => v === 0)));
    const f = initParams(
      makeTrial({
        data: gaussianData(100),
        model: { hidden: [200] },
        init: { scale: 2, fanIn: true },
      }),
    );
    assert.ok(Math.abs(std(f.weights[0]!) - 0.2) < 0.01, `fan-in std ${std(f.weights[0]!)}`);
  });

  it('draws uniform weights in [-scale, scale] and biases of biasScale', () => {
    const p = initParams(
      makeTrial({
        data: gaussianData(50),
        model: { hidden: [100], bias: true },
        init: { kind: 'uniform', scale: 0.3, biasScale: 0.1 },
      }),
    );
    const w = p.weights[0]!;
    assert.ok(w.every((v) => Math.abs(v) <= 0.3));
    assert.ok(Math.max(...w) > 0.29 && Math.min(...w) < -0.29);
    assert.ok(p.biases[0]!.every((v) => Math.abs(v) <= 0.1) && p.biases[0]!.some((v) => v !== 0));
  });

  it('draws orthogonal matrices: W W^T = scale^2 I for a wide layer, W^T W for a tall one', () => {
    const p = initParams(
      makeTrial({
        data: gaussianData(6),
        model: { hidden: [4, 9] },
        init: { kind: 'orthogonal', scale: 1.5 },
      }),
    );
    const gram = (w: Float32Array, out: number, inp: number, rows: boolean) => {
      const k = rows ? out : inp;
      const g: number[] = [];
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          let s = 0;
          for (let t = 0; t < (rows ? inp : out); t++)
            s += rows ? w[a * inp + t]! * w[b * inp + t]! : w[t * inp + a]! * w[t * inp + b]!;
          g.push(s);
        }
      return g;
    };
    const wide = gram(p.weights[0]!, 4, 6, true);
    const tall = gram(p.weights[1]!, 9, 4, false);
    for (const [g, k] of [
      [wide, 4],
      [tall, 4],
    ] as const)
      g.forEach((v, i) =>
        assert.ok(
          Math.abs(v - (Math.floor(i / k) === i % k ? 2.25 : 0)) < 1e-5,
          `gram[${i}] = ${v}`,
        ),
      );
  });

  it('uses explicit weights and biases where given', () => {
    const p = initParams(
      makeTrial({
        data: gaussianData(2),
        model: { hidden: [2], bias: true },
        init: { layers: [{ layer: 0, weights: [1, 0, 0, 1], bias: [0.5, -0.5] }] },
      }),
    );
    assert.deepEqual([...p.weights[0]!], [1, 0, 0, 1]);
    assert.deepEqual([...p.biases[0]!], [0.5, -0.5]);
    assert.equal(p.weights[1]!.length, 2);
  });

  it('is seeded per layer: same seed same values, another seed other values, other layers unchanged by a width change', () => {
    const t = (seed: number, h2: number) =>
      makeTrial({ data: gaussianData(5), model: { hidden: [7, h2] }, seed });
    assert.deepEqual(initParams(t(1, 3)), initParams(t(1, 3)));
    assert.notDeepEqual(initParams(t(1, 3)).weights[0], initParams(t(2, 3)).weights[0]);
    assert.deepEqual(initParams(t(1, 3)).weights[0], initParams(t(1, 5)).weights[0]);
  });
});
