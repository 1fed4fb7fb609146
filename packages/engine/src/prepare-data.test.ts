import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { prepareData } from './prepare-data';
import { makeTrial } from './test-support';

const features = (feats: readonly object[], n = 100, extra: object = {}, seed = 7) =>
  prepareData(makeTrial({ data: { features: { n, features: [...feats], ...extra }, seed } }));

describe('prepareData: features', () => {
  it('carries each feature in exactly round(p*n) samples, balanced over the classes, with y*norm', () => {
    const d = features(
      [
        { frequency: 1, norm: 1 },
        { frequency: 0.2, norm: 3 },
        { frequency: 0.33, norm: 0.5 },
      ],
      100,
    );
    assert.equal(d.n, 100);
    assert.equal(d.dim, 3);
    assert.equal(d.y.filter((v) => v === 1).length, 50);
    const expected = [
      { carriers: 100, norm: 1 },
      { carriers: 20, norm: 3 },
      { carriers: 33, norm: 0.5 },
    ];
    expected.forEach(({ carriers, norm }, j) => {
      let pos = 0;
      let neg = 0;
      for (let i = 0; i < d.n; i++) {
        const v = d.x[i * 3 + j]!;
        if (v === 0) continue;
        assert.equal(v, d.y[i]! * norm, `x[${i},${j}]`);
        if (d.y[i] === 1) pos++;
        else neg++;
      }
      assert.equal(pos + neg, carriers, `feature ${j}`);
      assert.equal(pos, Math.ceil(carriers / 2), `feature ${j} positives`);
    });
  });

  it('gives uninformative features a random sign, independent of the label', () => {
    const d = features([{ frequency: 1, norm: 2, informative: false }], 400);
    let agree = 0;
    for (let i = 0; i < d.n; i++) {
      assert.equal(Math.abs(d.x[i]!), 2);
      if (Math.sign(d.x[i]!) === d.y[i]) agree++;
    }
    assert.ok(agree > 160 && agree < 240, `sign agrees with the label ${agree}/400 times`);
  });

  it('knocks a feature out as a true counterfactual: that column zero, every other value identical', () => {
    const f = [
      { frequency: 1, norm: 1 },
      { frequency: 0.2, norm: 1 },
    ] as const;
    const full = features(f);
    const out = features([{ ...f[0], knockedOut: true }, f[1]]);
    assert.deepEqual(out.y, full.y);
    for (let i = 0; i < full.n; i++) {
      assert.equal(out.x[i * 2], 0);
      assert.equal(out.x[i * 2 + 1], full.x[i * 2 + 1]);
    }
  });

  it('keeps the other features unchanged when one feature changes', () => {
    const a = features([
      { frequency: 0.5, norm: 1 },
      { frequency: 0.2, norm: 1 },
    ]);
    const b = features([
      { frequency: 0.9, norm: 4 },
      { frequency: 0.2, norm: 1 },
    ]);
    for (let i = 0; i < a.n; i++) assert.equal(a.x[i * 2 + 1], b.x[i * 2 + 1]);
  });

  it('flips exactly round(labelNoise*n) labels and leaves the features on the clean label', () => {
    const clean = features([{ frequency: 1, norm: 1 }], 100);
    const noisy = features([{ frequency: 1, norm: 1 }], 100, { labelNoise: 0.1 });
    assert.deepEqual(noisy.x, clean.x);
    let flipped = 0;
    for (let i = 0; i < 100; i++) if (noisy.y[i] !== clean.y[i]) flipped++;
    assert.equal(flipped, 10);
  });

  it('is deterministic in the seed', () => {
    const f = [{ frequency: 0.3, norm: 1 }];
    assert.deepEqual(features(f, 50, {}, 1), features(f, 50, {}, 1));
    assert.notDeepEqual(features(f, 50, {}, 1).x, features(f, 50, {}, 2).x);
  });
});

describe('prepareData: gaussian, moons, inline', () => {
  it('gaussian: labels from the teacher, every margin at least minMargin, per-feature scales', () => {
    const d = prepareData(
      makeTrial({
        data: {
          gaussian: { n: 300, dim: 3, teacher: [1, 0, 0], minMargin: 0.5, scales: [1, 1, 10] },
          seed: 4,
        },
      }),
    );
    let big = 0;
    for (let i = 0; i < d.n; i++) {
      const x0 = d.x[i * 3]!;
      assert.equal(Math.sign(x0), d.y[i]);
      assert.ok(Math.abs(x0) >= 0.5 - 1e-6, `margin ${x0}`);
      if (Math.abs(d.x[i * 3 + 2]!) > 3) big++;
    }
    assert.ok(big > 150, `the scaled coordinate is wide (${big}/300 beyond 3)`);
  });

  it('gaussian: a seeded teacher when none is given, and label noise', () => {
    const a = prepareData(makeTrial({ data: { gaussian: { n: 200, dim: 4 }, seed: 9 } }));
    const b = prepareData(
      makeTrial({ data: { gaussian: { n: 200, dim: 4, labelNoise: 0.25 }, seed: 9 } }),
    );
    assert.deepEqual(a.x, b.x);
    assert.equal(a.y.filter((v, i) => v !== b.y[i]).length, 50);
  });

  it('moons: scikit-learn layout at delta = -1/4, classes separated by 2*delta on the first coordinate', () => {
    const sk = prepareData(makeTrial({ data: { moons: { n: 6, noise: 0, delta: -0.25 } } }));
    // Class +1: (cos s, sin s) of make_moons shifted by (-1/2, -1/4), coordinates swapped.
    const expectPos = [0, Math.PI / 2, Math.PI].map((s) => [Math.sin(s) - 0.25, Math.cos(s) - 0.5]);
    const expectNeg = [0, Math.PI / 2, Math.PI].map((s) => [
      0.5 - Math.sin(s) - 0.25,
      1 - Math.cos(s) - 0.5,
    ]);
    [...expectPos, ...expectNeg].forEach(([a, b], i) => {
      assert.ok(
        Math.abs(sk.x[2 * i]! - a!) < 1e-6 && Math.abs(sk.x[2 * i + 1]! - b!) < 1e-6,
        `point ${i}`,
      );
    });
    assert.deepEqual([...sk.y], [1, 1, 1, -1, -1, -1]);
    const gap = prepareData(makeTrial({ data: { moons: { n: 50, noise: 0, delta: 0.3 } } }));
    let minPos = Infinity;
    let maxNeg = -Infinity;
    for (let i = 0; i < 50; i++) {
      if (gap.y[i] === 1) minPos = Math.min(minPos, gap.x[2 * i]!);
      else maxNeg = Math.max(maxNeg, gap.x[2 * i]!);
    }
    assert.ok(Math.abs(minPos - maxNeg - 0.6) < 1e-6, `gap ${minPos - maxNeg}`);
  });

  it('inline: the given values', () => {
    const d = prepareData(
      makeTrial({
        data: { inline: { n: 2, dim: 2, x: [1, 2, 3, 4], y: [1, -1] } },
        record: { probes: [] },
      }),
    );
    assert.deepEqual([...d.x], [1, 2, 3, 4]);
    assert.deepEqual([...d.y], [1, -1]);
  });
});
