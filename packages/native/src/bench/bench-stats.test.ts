import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bestSetting, median, ratiosAgainst, type TorchCandidate } from './bench-stats';

const candidate = (variant: string, rates: number[]): TorchCandidate => ({
  threads: 1,
  coreType: 'SkylakeX',
  variant,
  rates,
});

test('median of odd and even counts, and of nothing', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test("PyTorch's best setting is the one with the highest median, not the one with the fastest single run", () => {
  // `lucky` has the fastest run but a lower median: a noisy outlier must not pick the reference.
  const steady = candidate('folded', [1000, 1010, 990, 1005, 995]);
  const lucky = candidate('bmm', [900, 1400, 880, 910, 905]);
  assert.equal(bestSetting([lucky, steady]), steady);
  assert.equal(bestSetting([]), undefined);
  assert.equal(bestSetting([candidate('bmm', [])]), undefined);
});

test('ratios: median against median, best against the same setting, per repetition, and the conservative one', () => {
  const steady = candidate('folded', [1000, 1010, 990, 1005, 995]);
  const lucky = candidate('bmm', [900, 1400, 880, 910, 905]);
  const native = [4000, 4100, 3000, 4050, 3950];
  const r = ratiosAgainst(native, [lucky, steady])!;
  assert.equal(r.median, 4000 / 1000);
  assert.equal(r.best, 4100 / 1010);
  // Per repetition: 4, 4.059, 3.030, 4.030, 3.970; the median is 4.
  assert.equal(r.pairedMedian, 4000 / 1000);
  assert.equal(r.vsFastestRun, 4100 / 1400);
  assert.equal(ratiosAgainst(native, []), null);
  assert.equal(ratiosAgainst([], [steady]), null);
});

test('a repetition PyTorch did not finish is left out of the per-repetition ratios', () => {
  const short = candidate('folded', [1000, 1000]);
  const r = ratiosAgainst([3000, 4000, 9000], [short])!;
  assert.equal(r.pairedMedian, 3.5);
});

test('a missing run (NaN) is left out, and a setting with fewer runs does not become the reference', () => {
  assert.equal(median([3, NaN, 1, 2]), 2);
  assert.ok(Number.isNaN(median([NaN])));
  // `died` ran twice, fast, then its process ended; `whole` ran all five.
  const died = candidate('bmm', [2000, 2100]);
  const gap = candidate('folded', [1000, NaN, 1010, 990, 1005, 995]);
  const whole = candidate('folded', [1000, 1010, 990, 1005, 995]);
  assert.equal(bestSetting([died, whole]), whole);
  const r = ratiosAgainst([4000, NaN, 4100, 3000, 4050, 3950], [gap])!;
  assert.equal(r.median, 4000 / 1000);
  assert.equal(r.best, 4100 / 1010);
  assert.equal(r.vsFastestRun, 4100 / 1010);
  assert.ok(Number.isFinite(r.pairedMedian));
});
