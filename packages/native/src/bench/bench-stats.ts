/**
 * How the native benchmark turns interleaved runs into a ratio against PyTorch.
 *
 * Why this is its own module: the choice of PyTorch's reference decides the ratio as much as the
 * native code does. The host's speed drifts by a fifth or more between runs, so a run's rate is
 * the true rate times noise. Taking the single fastest run of every PyTorch candidate (two thread
 * counts x two core types x two formulations, 5 runs each: 40 draws) against the fastest of the
 * native configuration's 5 runs favours PyTorch by the noise alone. Here each candidate is a
 * setting with as many runs as the native configuration, PyTorch's best setting is the one with the
 * highest median, and the ratio is median against median, as everywhere else in the project's
 * figures (the project's performance notes, the engine bench). The other readings are kept beside
 * it: best run against the same setting's best run, the median of the per-repetition ratios, and
 * the old, most conservative one, against PyTorch's fastest run of any setting.
 */

/** The finite ones of `values`: a missing run is NaN where runs are indexed by repetition. */
function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
}

/** The largest of the finite `values`; NaN when none. */
export function bestOf(values: readonly number[]): number {
  const f = finite(values);
  return f.length ? Math.max(...f) : NaN;
}

/** The median of the finite `values` (the mean of the middle two for an even count); NaN when none. */
export function median(values: readonly number[]): number {
  const s = finite(values).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One PyTorch setting (threads, core type, formulation) and its rate in each repetition. */
export interface TorchCandidate {
  threads: number;
  coreType: string | null;
  variant: string;
  /** Network-steps per second, repetition by repetition (index r is repetition r). */
  rates: number[];
}

/**
 * PyTorch's best setting: the highest median rate (ties: the first) among the candidates with the
 * most runs (a setting whose process died after two runs is not judged on those two); undefined
 * without runs.
 */
export function bestSetting(candidates: readonly TorchCandidate[]): TorchCandidate | undefined {
  const most = Math.max(0, ...candidates.map((c) => finite(c.rates).length));
  let best: TorchCandidate | undefined;
  for (const c of candidates)
    if (most && finite(c.rates).length === most && (!best || median(c.rates) > median(best.rates)))
      best = c;
  return best;
}

/** The readings of one native configuration's runs against PyTorch. */
export interface Ratios {
  /** Native median / the best setting's median: the headline figure. */
  median: number;
  /** Native best run / the best setting's best run. */
  best: number;
  /** Median over repetitions of native run r / the best setting's run r (the same minutes). */
  pairedMedian: number;
  /** Native best run / PyTorch's fastest run of any setting: the most conservative reading. */
  vsFastestRun: number;
}

/**
 * The ratios of `native` (rates per repetition, index r run in the same minutes as PyTorch's
 * repetition r) against `candidates`; null when PyTorch has no run.
 */
export function ratiosAgainst(
  native: readonly number[],
  candidates: readonly TorchCandidate[],
): Ratios | null {
  const ref = bestSetting(candidates);
  if (!ref || !finite(native).length) return null;
  const fastest = bestOf(candidates.flatMap((c) => c.rates));
  const paired = native.map((n, r) => n / (ref.rates[r] ?? NaN));
  const best = bestOf(native);
  return {
    median: median(native) / median(ref.rates),
    best: best / bestOf(ref.rates),
    pairedMedian: median(paired),
    vsFastestRun: best / fastest,
  };
}
