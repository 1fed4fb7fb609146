/**
 * The native backend's population program: the engine's `PopulationProgram` over the addon.
 *
 * Why it is a thin class: the addon does the work on its own memory; this side checks arguments,
 * allocates the measurement arrays the addon writes into (zero-copy), turns the addon's coded errors
 * into `DynlabError`s, and makes `dispose()` idempotent. The population's memory is native and
 * owned by the addon object, freed by `dispose()` or, as a safety net, by the object's finalizer.
 */
import { DynlabError, ErrorCode } from '@dynlab/core';
import type { CompiledTrial } from '@dynlab/spec';
import { loadAddon, type AddonPopulation, type NativeProfile } from './native-addon';
import { minibatchSize, nativeConfig, shapeError } from './native-config';
import type { NativeData, NativeHelpers, NativeMeasurement, NativeParams } from './program-types';

/** Rethrows an addon error as a DynlabError with the code the addon set (SHAPE, BACKEND). */
function rethrow(err: unknown): never {
  const e = err as Error & { code?: unknown };
  if (e instanceof DynlabError) throw e;
  const code = e?.code === ErrorCode.Shape ? ErrorCode.Shape : ErrorCode.Backend;
  throw new DynlabError(code, `native: ${e?.message ?? String(err)}`, {
    cause: err,
    details: { backend: 'native' },
  });
}

/**
 * The addon draws each trial's minibatches itself (the engine's seeded order, reimplemented in C++).
 * Where the engine hands its own order, the first batch of the first two epochs of every trial is
 * compared, so that a change on either side makes the native backend step aside (a BACKEND error,
 * and the engine picks another backend) rather than train on different batches.
 */
function checkMinibatchOrder(
  addon: NonNullable<ReturnType<typeof loadAddon>['addon']>,
  trials: readonly CompiledTrial[],
  helpers: NativeHelpers,
): void {
  trials.forEach((t, p) => {
    const b = minibatchSize(t);
    const perEpoch = Math.floor(t.data.n / b);
    for (const step of [0, perEpoch]) {
      const ours = new Int32Array(b);
      addon.batchRows(t.seed, t.data.n, b, step, ours);
      const theirs = helpers.batchIndices(p, step);
      if (theirs.length !== b || ours.some((v, i) => v !== theirs[i]))
        throw new DynlabError(
          ErrorCode.Backend,
          `native: the minibatch order of trial ${p} at step ${step} differs from the engine's`,
          {
            details: { backend: 'native', unsupported: 'minibatch order' },
          },
        );
    }
  });
}

/** A population of trials trained by the native addon. */
export class NativeProgram {
  /** Number of trials P. */
  readonly size: number;
  private pop: AddonPopulation | undefined;
  private steps = 0;
  private readonly widths: readonly number[];
  private readonly samples: number;
  private readonly probes: number;
  private readonly want: ReadonlySet<string>;
  private readonly relu: boolean;

  constructor(
    trials: readonly CompiledTrial[],
    data: readonly NativeData[],
    params: readonly NativeParams[],
    helpers?: NativeHelpers,
  ) {
    const { addon, reason } = loadAddon();
    if (!addon)
      throw new DynlabError(ErrorCode.Backend, `native backend unavailable: ${reason}`, {
        details: { backend: 'native', unsupported: 'addon' },
      });
    const { config, arrays } = nativeConfig(trials, data, params);
    if (helpers && config.batchSize > 0) checkMinibatchOrder(addon, trials, helpers);
    try {
      this.pop = new addon.Population(config, arrays);
    } catch (err) {
      rethrow(err);
    }
    const first = trials[0]!;
    this.size = trials.length;
    this.widths = first.widths;
    this.samples = first.data.n;
    this.probes = first.record.probes.length;
    this.want = first.quantities;
    this.relu = first.model.kind === 'relu';
  }

  /** Optimizer steps applied so far. */
  get stepsDone(): number {
    return this.steps;
  }

  private live(): AddonPopulation {
    if (!this.pop)
      throw new DynlabError(ErrorCode.Backend, 'native: the program was disposed', {
        details: { backend: 'native' },
      });
    return this.pop;
  }

  /** Applies `count` optimizer steps to every trial. */
  advance(count: number): void {
    if (!Number.isInteger(count) || count < 0)
      throw shapeError(`advance: expected a non-negative integer count, got ${count}`);
    const pop = this.live();
    try {
      pop.advance(count);
    } catch (err) {
      rethrow(err);
    }
    this.steps += count;
  }

  /** Measures the recorded quantities at the current parameters, on the full training set. */
  measure(): NativeMeasurement {
    const pop = this.live();
    const P = this.size;
    const layers = this.widths.length - 1;
    const sized = (q: string, width: number) => new Float32Array(this.want.has(q) ? P * width : 0);
    const out = {
      loss: new Float32Array(P),
      error: new Float32Array(P),
      gradShare: sized('gradShare', this.widths[0]!),
      probeOutputs: sized('probeOutputs', this.probes),
      trainOutputs: sized('trainOutputs', this.samples),
      paramNorms: sized('paramNorms', layers),
      deadUnits: this.relu ? sized('deadUnits', layers - 1) : new Float32Array(0),
    };
    const divergedAt = new Int32Array(P);
    try {
      pop.measure(out);
      pop.divergedAt(divergedAt);
    } catch (err) {
      rethrow(err);
    }
    return { step: this.steps, ...out, divergedAt };
  }

  /** Per trial, the first step with non-finite parameters or loss, or -1. */
  divergedAt(): Int32Array {
    const out = new Int32Array(this.size);
    try {
      this.live().divergedAt(out);
    } catch (err) {
      rethrow(err);
    }
    return out;
  }

  /** Every trial's current parameters (for tests and checkpoints), per layer trial-major. */
  readParams(): { weights: Float32Array[]; biases: Float32Array[] } {
    const pop = this.live();
    const weights: Float32Array[] = [];
    const biases: Float32Array[] = [];
    for (let l = 0; l + 1 < this.widths.length; l++) {
      const out = this.widths[l + 1]!;
      weights.push(new Float32Array(this.size * out * this.widths[l]!));
      biases.push(new Float32Array(this.size * out));
      pop.readParams(l, weights[l]!, biases[l]!);
    }
    return { weights, biases };
  }

  /** Where the time went since the program was built (for the benchmark). */
  profile(): NativeProfile {
    return this.live().profile();
  }

  /** Threads (slices of the samples) each full-batch pass is split over (DYNLAB_NATIVE_THREADS, at most one per sample). */
  get lanes(): number {
    return this.live().lanes();
  }

  /** Native bytes held by the population (0 once disposed). */
  get bytes(): number {
    return this.pop ? this.pop.bytes() : 0;
  }

  /** Frees the native memory now; safe to call more than once. */
  dispose(): void {
    const pop = this.pop;
    this.pop = undefined;
    pop?.dispose();
  }
}

/**
 * Builds the native program for a population (the engine's `PopulationProgramFactory`). Throws a
 * DynlabError with code BACKEND when the addon is unavailable here or cannot reproduce what the
 * engine asks (its minibatch order), and SHAPE when the trials, data and parameters do not fit together.
 */
export function createNativeProgram(
  trials: readonly CompiledTrial[],
  data: readonly NativeData[],
  params: readonly NativeParams[],
  helpers?: NativeHelpers,
): NativeProgram {
  return new NativeProgram(trials, data, params, helpers);
}
