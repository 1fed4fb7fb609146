import { quantities } from './trial-schema';

/**
 * The recorded time series of a trial, columnar, in the same field names as the
 * `dynlab.v1.TelemetryChunk` message so that the engine's output, the wire and the analyzers share
 * one vocabulary. Row i of every matrix belongs to `steps[i]`; matrices are row-major, their width
 * given beside them. A quantity that was not recorded is an empty array.
 */
export interface TelemetryColumns {
  steps: number[];
  loss: number[];
  error: number[];
  /** Width of `gradShare`: the input dimension D. */
  features: number;
  /** Per-feature gradient share of the first layer, rows x features; each row sums to 1 (or is all 0). */
  gradShare: number[];
  /** Width of `probeOutputs`. */
  probes: number;
  probeOutputs: number[];
  /** Width of `paramNorms`: the number of weight layers. */
  layers: number;
  /** Frobenius norm of each layer's weights (biases included), rows x layers. */
  paramNorms: number[];
  /** Fraction of dead ReLU units per hidden layer, rows x (layers - 1); empty for linear models. */
  deadUnits: number[];
  /** Width of `trainOutputs`. */
  trainPoints: number;
  trainOutputs: number[];
}

export type TrialStatus = 'ok' | 'diverged' | 'failed' | 'cancelled';

/** How a trial ended. */
export interface TrialOutcome {
  status: TrialStatus;
  finalLoss: number;
  finalError: number;
  /** Steps completed (at divergence: the step where NaN/Inf appeared). */
  stepsDone: number;
  backend: string;
  wallS: number;
  /** Set for failed trials. */
  error?: { code: string; message: string };
}

/** An empty series of the given widths. */
export function emptyColumns(
  features = 0,
  probes = 0,
  layers = 0,
  trainPoints = 0,
): TelemetryColumns {
  return {
    steps: [],
    loss: [],
    error: [],
    features,
    gradShare: [],
    probes,
    probeOutputs: [],
    layers,
    paramNorms: [],
    deadUnits: [],
    trainPoints,
    trainOutputs: [],
  };
}

/** Appends `b` to `a` in place (widths must agree). */
export function appendColumns(a: TelemetryColumns, b: TelemetryColumns): TelemetryColumns {
  for (const k of ['steps', ...quantities] as const) {
    const src = b[k];
    for (let i = 0; i < src.length; i++) a[k].push(src[i]!);
  }
  a.features ||= b.features;
  a.probes ||= b.probes;
  a.layers ||= b.layers;
  a.trainPoints ||= b.trainPoints;
  return a;
}
