import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  balancedF0,
  ei,
  hingeModeOutput,
  hingeModeTime,
  logisticModeLoss,
  logisticModeOutput,
  logisticModeTime,
  modeLearns,
} from './theory';

describe('theory: Ei', () => {
  it('matches tabulated values of the exponential integral', () => {
    // Abramowitz & Stegun / mpmath values.
    const table: [number, number][] = [
      [1e-6, -13.238293893062488],
      [0.5, 0.4542199048631736],
      [1, 1.8951178163559368],
      [2, 4.95423435600189],
      [10, 2492.2289762418777],
      [50, 1.058563689713169e20],
      [-0.5, -0.5597735947761608],
      [-1, -0.21938393439552026],
      [-5, -0.0011482955912753257],
    ];
    for (const [x, v] of table)
      assert.ok(Math.abs(ei(x) - v) <= 1e-12 * Math.abs(v), `Ei(${x}) = ${ei(x)}, expected ${v}`);
    assert.equal(ei(0), -Infinity);
  });
});

describe('theory: one mode', () => {
  const mode = { p: 0.25, r: 2, f0: balancedF0(2, 0.1) };
  it('logistic: the output solves ln(f/f0) + Ei(f) - Ei(f0) = 2 p r t and inverts logisticModeTime', () => {
    assert.equal(mode.f0, 0.020000000000000004);
    for (const t of [0.5, 3, 20, 400]) {
      const f = logisticModeOutput(t, mode);
      const lhs = Math.log(f / mode.f0) + ei(f) - ei(mode.f0);
      assert.ok(
        Math.abs(lhs - 2 * mode.p * mode.r * t) < 1e-9 * Math.max(1, lhs),
        `t=${t}: ${lhs}`,
      );
      assert.ok(Math.abs(logisticModeTime(f, mode) - t) < 1e-9 * t);
    }
    assert.equal(logisticModeOutput(0, mode), mode.f0);
  });
  it('logistic: early growth is f0 e^{p r t} (sigma(-f) ~ 1/2) and learning time scales as 1/(p r)', () => {
    const f = logisticModeOutput(1e-3, { p: 1, r: 1, f0: 1e-6 });
    assert.ok(Math.abs(f / (1e-6 * Math.exp(1e-3)) - 1) < 1e-6);
    const t1 = logisticModeTime(1, { p: 0.5, r: 1, f0: 0.01 });
    const t2 = logisticModeTime(1, { p: 0.25, r: 1, f0: 0.01 });
    const t3 = logisticModeTime(1, { p: 0.5, r: 4, f0: 0.01 });
    assert.ok(Math.abs(t2 / t1 - 2) < 1e-12 && Math.abs(t1 / t3 - 4) < 1e-12);
  });
  it('hinge: f0 e^{2 p r t} until the margin, then constant', () => {
    assert.ok(Math.abs(hingeModeOutput(1, mode) - mode.f0 * Math.exp(1)) < 1e-15);
    const tm = hingeModeTime(1, mode);
    assert.equal(hingeModeOutput(tm * 2, mode), 1);
    assert.equal(hingeModeOutput(100, mode, 0.5), 0.5);
  });
  it('never learns from y*a0 <= -w0 or w0 <= 0; the stuck loss is ln 2', () => {
    assert.equal(modeLearns({ a0: 0.1, w0: 0.1 }), true);
    assert.equal(modeLearns({ a0: -0.05, w0: 0.1 }), true);
    assert.equal(modeLearns({ a0: -0.1, w0: 0.1 }), false);
    assert.equal(modeLearns({ a0: 0.1, w0: -0.1 }), false);
    assert.equal(modeLearns({ a0: -0.2, w0: 0.1, y: -1 }), true);
    assert.equal(logisticModeLoss(0, 0.3), Math.LN2);
  });
});
