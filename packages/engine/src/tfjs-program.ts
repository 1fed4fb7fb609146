/**
 * The TensorFlow.js implementation of `PopulationProgram`, shared by the wasm, cpu and tensorflow
 * backends (whichever tfjs backend is active runs it). The population is split into groups of
 * trials that share their data (the same `PreparedData` object, and for minibatch optimizers the
 * same seed, hence the same batches); each group is folded into one program (see `tfjs-model.ts`),
 * so that a population of trials that differ only in learning rate, initial scale or regularizer
 * runs as one pair of large matMuls per step, while trials with their own data still batch the
 * rest. Rows never mix across trials, so a trial's numbers do not depend on its population.
 *
 * Every step runs inside `tf.tidy` and keeps only the new parameters, optimizer state and
 * divergence record, so the number of live tensors is flat across steps. Per-op dispatch costs
 * microseconds, which matters for small networks, so a step issues few ops: divergence is tracked
 * with a sticky accumulator (acc += 0 * sum(params) stays 0 until a parameter is NaN or Inf, then
 * stays NaN) and a count of finite steps, read only when the runner asks; the gradient share is
 * normalized on the host; terms whose coefficients are all zero are left out.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CompiledTrial } from '@dynlab/spec';
import type {
  InitialParams,
  PopulationMeasurement,
  PopulationProgram,
  PreparedData,
  ProgramHelpers,
} from './population-program';
import { usesMinibatches } from './minibatch';
import {
  dataLoss,
  forward,
  gradients,
  outputGrad,
  type Batch,
  type Forward,
  type GroupParams,
  type ModelShape,
  type ObjectiveCoefs,
} from './tfjs-model';

/** A per-trial coefficient in the two shapes the parameters need: rows of W0 `[G*H1, 1]` and later layers `[G, 1, 1]`. */
interface Coef {
  row: tf.Tensor2D;
  cube: tf.Tensor3D;
  values: number[];
}

/** How one parameter tensor trains: frozen, fully trainable, or with a column mask (W0's weights vs bias column). */
type Trainability = { frozen: true } | { frozen: false; mask?: tf.Tensor2D };

interface OptimizerState {
  /** Momentum velocity or Adam first moment, per parameter. */
  m: tf.Tensor[];
  /** Adam second moment, per parameter. */
  v: tf.Tensor[];
}

interface Cached {
  step: number;
  grads: GroupParams;
}

/** The tfjs program answers synchronously (tfjs-wasm and tfjs-cpu read back without waiting). */
export interface SyncPopulationProgram extends PopulationProgram {
  advance(count: number): void;
  measure(): PopulationMeasurement;
  divergedAt(): Int32Array;
}

/** Builds the tfjs program; the active tfjs backend runs it. */
export function createTfjsProgram(
  trials: readonly CompiledTrial[],
  data: readonly PreparedData[],
  params: readonly InitialParams[],
  helpers: ProgramHelpers,
): SyncPopulationProgram {
  return new TfjsProgram(trials, data, params, helpers);
}

class TfjsProgram implements SyncPopulationProgram {
  readonly size: number;
  stepsDone = 0;
  private readonly groups: FoldedGroup[] = [];

  constructor(
    trials: readonly CompiledTrial[],
    data: readonly PreparedData[],
    params: readonly InitialParams[],
    helpers: ProgramHelpers,
  ) {
    this.size = trials.length;
    const byKey = new Map<unknown, number[]>();
    const ids = new Map<PreparedData, number>();
    trials.forEach((t, i) => {
      const d = data[i]!;
      if (!ids.has(d)) ids.set(d, ids.size);
      const key = usesMinibatches(t) ? `${ids.get(d)}:${t.seed}` : `${ids.get(d)}`;
      const list = byKey.get(key) ?? [];
      list.push(i);
      byKey.set(key, list);
    });
    for (const members of byKey.values())
      this.groups.push(new FoldedGroup(members, trials, data[members[0]!]!, params, helpers));
  }

  advance(count: number): void {
    for (let k = 0; k < count; k++) {
      for (const g of this.groups) g.step(this.stepsDone);
      this.stepsDone++;
    }
  }

  measure(): PopulationMeasurement {
    const P = this.size;
    const first = this.groups[0]!;
    const out: PopulationMeasurement = {
      step: this.stepsDone,
      loss: new Float32Array(P),
      error: new Float32Array(P),
      gradShare: new Float32Array(first.records.gradShare ? P * first.dim : 0),
      probeOutputs: new Float32Array(first.records.probes ? P * first.probes : 0),
      trainOutputs: new Float32Array(first.records.trainOutputs ? P * first.n : 0),
      paramNorms: new Float32Array(first.records.paramNorms ? P * first.layers : 0),
      deadUnits: new Float32Array(first.records.deadUnits ? P * (first.layers - 1) : 0),
      divergedAt: new Int32Array(P),
    };
    for (const g of this.groups) g.measure(this.stepsDone, out);
    return out;
  }

  divergedAt(): Int32Array {
    const out = new Int32Array(this.size);
    for (const g of this.groups) g.readDivergence(out);
    return out;
  }

  dispose(): void {
    for (const g of this.groups) g.dispose();
    this.groups.length = 0;
  }
}

/** Trials that share data, folded into one set of tensors. */
class FoldedGroup {
  readonly dim: number;
  readonly n: number;
  readonly layers: number;
  readonly probes: number;
  readonly records: {
    gradShare: boolean;
    probes: boolean;
    trainOutputs: boolean;
    paramNorms: boolean;
    deadUnits: boolean;
  };
  private readonly shape: ModelShape;
  private readonly G: number;
  private readonly cols: number;
  private readonly full: Batch & { negY: tf.Tensor3D };
  private readonly probeInputs?: tf.Tensor3D;
  private params: GroupParams;
  private opt: OptimizerState = { m: [], v: [] };
  /** Sticky non-finite accumulator and count of finite steps, `[G]` each. */
  private acc: tf.Tensor1D;
  private finiteSteps: tf.Tensor1D;
  /** Divergence seen on the host (a non-finite loss at a measurement), -1 if none. */
  private readonly hostDiverged: Int32Array;
  private cached?: Cached;
  private readonly coefs: ObjectiveCoefs;
  private readonly lr: Coef;
  private readonly wd?: Coef;
  private readonly momentum: Coef;
  private readonly beta1: Coef;
  private readonly beta2: Coef;
  private readonly eps: Coef;
  private readonly trainability: Trainability[];
  private readonly optimizer: CompiledTrial['optimizer']['kind'];
  private readonly minibatch: boolean;
  private readonly batchOf: (step: number) => Int32Array;
  private readonly owned: tf.Tensor[] = [];

  constructor(
    private readonly members: readonly number[],
    trials: readonly CompiledTrial[],
    data: PreparedData,
    params: readonly InitialParams[],
    helpers: ProgramHelpers,
  ) {
    const t0 = trials[members[0]!]!;
    const mine = members.map((i) => trials[i]!);
    const G = (this.G = members.length);
    const widths = t0.widths;
    const D = widths[0]!;
    const h1 = widths[1]!;
    const bias = t0.model.bias;
    const cols = (this.cols = bias ? D + 1 : D);
    this.dim = D;
    this.n = data.n;
    this.layers = widths.length - 1;
    this.probes = t0.record.probes.length;
    this.shape = {
      kind: t0.model.kind,
      widths,
      loss: t0.loss.kind,
      reduction: t0.loss.reduction,
      bias,
      size: G,
    };
    const q = t0.quantities;
    this.records = {
      gradShare: q.has('gradShare'),
      probes: q.has('probeOutputs') && this.probes > 0,
      trainOutputs: q.has('trainOutputs'),
      paramNorms: q.has('paramNorms'),
      deadUnits: q.has('deadUnits') && t0.model.kind === 'relu' && this.layers > 1,
    };
    this.optimizer = t0.optimizer.kind;
    this.minibatch = usesMinibatches(t0);
    this.batchOf = (step) => helpers.batchIndices(members[0]!, step);

    const keep = <T extends tf.Tensor>(t: T): T => {
      this.owned.push(t);
      return tf.keep(t);
    };
    // Data: X [N, C] (a column of ones last when there are biases), XT [C, N], y and -y [1, 1, N].
    const n = data.n;
    const xe = new Float32Array(n * cols);
    for (let i = 0; i < n; i++) {
      xe.set(data.x.subarray(i * D, (i + 1) * D), i * cols);
      if (bias) xe[i * cols + D] = 1;
    }
    const x = keep(tf.tensor2d(xe, [n, cols]));
    const y = keep(tf.tensor3d(data.y, [1, 1, n]));
    this.full = { x, xt: keep(tf.transpose(x)), y, negY: keep(tf.neg(y)) };
    if (this.records.probes) {
      const K = this.probes;
      const pt = new Float32Array(G * cols * K);
      mine.forEach((t, g) =>
        t.record.probes.forEach((p, k) => {
          for (let j = 0; j < D; j++) pt[(g * cols + j) * K + k] = p.x[j]!;
          if (bias) pt[(g * cols + D) * K + k] = 1;
        }),
      );
      this.probeInputs = keep(tf.tensor3d(pt, [G, cols, K]));
    }

    // Parameters, trial-major.
    const w0 = new Float32Array(G * h1 * cols);
    members.forEach((i, g) => {
      const p = params[i]!;
      for (let h = 0; h < h1; h++) {
        w0.set(p.weights[0]!.subarray(h * D, (h + 1) * D), (g * h1 + h) * cols);
        if (bias) w0[(g * h1 + h) * cols + D] = p.biases[0]![h]!;
      }
    });
    const ws: tf.Tensor3D[] = [];
    const bs: tf.Tensor3D[] = [];
    for (let l = 1; l < this.layers; l++) {
      const out = widths[l + 1]!;
      const inp = widths[l]!;
      const w = new Float32Array(G * out * inp);
      const b = new Float32Array(G * out);
      members.forEach((i, g) => {
        w.set(params[i]!.weights[l]!, g * out * inp);
        b.set(params[i]!.biases[l]!, g * out);
      });
      ws.push(tf.keep(tf.tensor3d(w, [G, out, inp])));
      bs.push(tf.keep(tf.tensor3d(b, [G, out, 1])));
    }
    this.params = { w0: tf.keep(tf.tensor2d(w0, [G * h1, cols])), ws, bs };

    const coef = (values: number[]): Coef => {
      const rows = new Float32Array(G * h1);
      values.forEach((v, g) => rows.fill(v, g * h1, (g + 1) * h1));
      return {
        row: keep(tf.tensor2d(rows, [G * h1, 1])),
        cube: keep(tf.tensor3d(values, [G, 1, 1])),
        values,
      };
    };
    const decay = mine.map((t) => t.regularizer.weightDecay);
    const sd = mine.map((t) => t.regularizer.spectralDecoupling);
    this.lr = coef(mine.map((t) => t.optimizer.learningRate));
    if (decay.some((v) => v > 0)) this.wd = coef(decay);
    this.momentum = coef(mine.map((t) => t.optimizer.momentum));
    this.beta1 = coef(mine.map((t) => t.optimizer.beta1));
    this.beta2 = coef(mine.map((t) => t.optimizer.beta2));
    this.eps = coef(mine.map((t) => t.optimizer.epsilon));
    this.coefs = {
      margin: keep(
        tf.tensor3d(
          mine.map((t) => t.loss.margin),
          [G, 1, 1],
        ),
      ),
      ...(sd.some((v) => v > 0) ? { spectralDecoupling: keep(tf.tensor3d(sd, [G, 1, 1])) } : {}),
    };

    // Which parameters train: W0's weights and bias column separately, then each later layer.
    const { trainable, biasTrainable } = t0.model;
    const trainW = trainable[0] ?? true;
    const trainB = bias && (biasTrainable[0] ?? false);
    const first: Trainability =
      !trainW && !trainB
        ? { frozen: true }
        : trainW && (trainB || !bias)
          ? { frozen: false }
          : {
              frozen: false,
              mask: keep(
                tf.tensor2d(
                  Array.from({ length: cols }, (_, j) => ((j === D ? trainB : trainW) ? 1 : 0)),
                  [1, cols],
                ),
              ),
            };
    this.trainability = [first];
    for (let l = 1; l < this.layers; l++)
      this.trainability.push({ frozen: !(trainable[l] ?? true) });
    for (let l = 1; l < this.layers; l++)
      this.trainability.push({ frozen: !(bias && (biasTrainable[l] ?? false)) });
    if (this.optimizer === 'momentum' || this.optimizer === 'adam') {
      this.opt.m = this.flat(this.params).map((p) => tf.keep(tf.zerosLike(p)));
      if (this.optimizer === 'adam')
        this.opt.v = this.flat(this.params).map((p) => tf.keep(tf.zerosLike(p)));
    }
    this.acc = tf.keep(tf.zeros([G]));
    this.finiteSteps = tf.keep(tf.zeros([G]));
    this.hostDiverged = new Int32Array(G).fill(-1);
  }

  /** Parameters as one list: W0, the later weights, the later biases (the order of `trainability`). */
  private flat(p: GroupParams): tf.Tensor[] {
    return [p.w0, ...p.ws, ...p.bs];
  }

  private unflat(list: tf.Tensor[]): GroupParams {
    const k = this.layers - 1;
    return {
      w0: list[0] as tf.Tensor2D,
      ws: list.slice(1, 1 + k) as tf.Tensor3D[],
      bs: list.slice(1 + k) as tf.Tensor3D[],
    };
  }

  private batch(step: number): Batch & { negY: tf.Tensor3D } {
    if (!this.minibatch) return this.full;
    const idx = tf.tensor1d(this.batchOf(step), 'int32');
    const y = tf.gather(this.full.y, idx, 2);
    return {
      xt: tf.gather(this.full.xt, idx, 1),
      x: tf.gather(this.full.x, idx, 0),
      y,
      negY: tf.neg(y),
    };
  }

  /** The forward pass and the data+SD gradients at the current parameters on a batch. */
  private evaluate(b: Batch & { negY: tf.Tensor3D }): { fw: Forward; grads: GroupParams } {
    const fw = forward(this.shape, this.params, b.xt);
    const df = outputGrad(this.shape, fw.f, b.y, this.coefs, b.negY);
    return { fw, grads: gradients(this.shape, this.params, fw, df, b.x) };
  }

  /** Per-trial sum of every trained parameter: NaN or Inf as soon as one of them is. */
  private paramSum(p: GroupParams): tf.Tensor1D {
    let s = tf.sum<tf.Tensor1D>(tf.reshape(p.w0, [this.G, -1]), 1);
    this.flat(p).forEach((t, k) => {
      if (k > 0 && !this.trainability[k]!.frozen) s = tf.add<tf.Tensor1D>(s, tf.sum(t, [1, 2]));
    });
    return s;
  }

  step(stepIndex: number): void {
    const cached = this.cached?.step === stepIndex ? this.cached : undefined;
    this.cached = undefined;
    const next = tf.tidy(() => {
      const grads = cached?.grads ?? this.evaluate(this.batch(stepIndex)).grads;
      const { params, opt } = this.update(grads, stepIndex + 1);
      const acc = tf.add<tf.Tensor1D>(this.acc, tf.mul(this.paramSum(params), 0));
      const finiteSteps = tf.add<tf.Tensor1D>(
        this.finiteSteps,
        tf.cast(tf.isFinite(acc), 'float32'),
      );
      return { params: this.flat(params), m: opt.m, v: opt.v, acc, finiteSteps };
    });
    if (cached) tf.dispose(this.flat(cached.grads));
    const old = [
      ...this.flat(this.params),
      ...this.opt.m,
      ...this.opt.v,
      this.acc,
      this.finiteSteps,
    ];
    this.params = this.unflat(next.params);
    this.opt = { m: next.m, v: next.v };
    this.acc = next.acc;
    this.finiteSteps = next.finiteSteps;
    const live = new Set<tf.Tensor>([...next.params, ...next.m, ...next.v]);
    tf.dispose(old.filter((t) => !live.has(t)));
  }

  /** One optimizer update from the data+SD gradients (weight decay and frozen parameters applied here); t counts from 1. */
  private update(grads: GroupParams, t: number): { params: GroupParams; opt: OptimizerState } {
    const ps = this.flat(this.params);
    const gs = this.flat(grads);
    const m: tf.Tensor[] = [];
    const v: tf.Tensor[] = [];
    let lrStep = this.lr;
    let c2: Coef | undefined;
    if (this.optimizer === 'adam') {
      lrStep = this.perStep(
        this.lr.values.map((lr, g) => lr / (1 - Math.pow(this.beta1.values[g]!, t))),
      );
      c2 = this.perStep(this.beta2.values.map((b2) => 1 / (1 - Math.pow(b2, t))));
    }
    const out = ps.map((p, k) => {
      const tr = this.trainability[k]!;
      const pick = (c: Coef) => (k === 0 ? c.row : c.cube);
      if (tr.frozen) {
        if (this.opt.m[k]) m.push(this.opt.m[k]!);
        if (this.opt.v[k]) v.push(this.opt.v[k]!);
        return p;
      }
      let g = gs[k]!;
      if (this.wd) g = tf.add(g, tf.mul(pick(this.wd), p));
      if (tr.mask) g = tf.mul(g, tr.mask);
      switch (this.optimizer) {
        case 'gd':
        case 'sgd':
          return tf.sub(p, tf.mul(pick(this.lr), g));
        case 'momentum': {
          const vel = tf.add(tf.mul(pick(this.momentum), this.opt.m[k]!), g);
          m.push(vel);
          return tf.sub(p, tf.mul(pick(this.lr), vel));
        }
        case 'adam': {
          const b1 = pick(this.beta1);
          const b2 = pick(this.beta2);
          const m1 = tf.add(tf.mul(b1, this.opt.m[k]!), tf.mul(tf.sub(1, b1), g));
          const m2 = tf.add(tf.mul(b2, this.opt.v[k]!), tf.mul(tf.sub(1, b2), tf.square(g)));
          m.push(m1);
          v.push(m2);
          const denom = tf.add(tf.sqrt(tf.mul(m2, pick(c2!))), pick(this.eps));
          return tf.sub(p, tf.div(tf.mul(pick(lrStep), m1), denom));
        }
      }
    });
    return { params: this.unflat(out), opt: { m, v } };
  }

  /** A coefficient that changes every step (Adam's bias corrections); disposed by the enclosing tidy. */
  private perStep(values: number[]): Coef {
    const h1 = this.shape.widths[1]!;
    const rows = new Float32Array(this.G * h1);
    values.forEach((v, g) => rows.fill(v, g * h1, (g + 1) * h1));
    return {
      row: tf.tensor2d(rows, [this.G * h1, 1]),
      cube: tf.tensor3d(values, [this.G, 1, 1]),
      values,
    };
  }

  measure(stepsDone: number, out: PopulationMeasurement): void {
    const { G, members, records, n } = this;
    const needGrads = records.gradShare || !this.minibatch;
    this.dropCache();
    const reads = tf.tidy(() => {
      const { fw, grads } = needGrads
        ? this.evaluate(this.full)
        : { fw: forward(this.shape, this.params, this.full.xt), grads: undefined };
      const loss = dataLoss(this.shape, fw.f, this.full.y, this.coefs.margin);
      const error = tf.mean(tf.cast(tf.lessEqual(tf.mul(this.full.y, fw.f), 0), 'float32'), [1, 2]);
      const r: Record<string, tf.Tensor> = { lossError: tf.stack([loss, error], 1) };
      if (grads && records.gradShare) {
        // Column sums over the hidden units as a batched matVec: tfjs sums a middle axis by transposing first.
        const h1 = this.shape.widths[1]!;
        const sq = tf.reshape<tf.Rank.R3>(tf.square(grads.w0), [G, h1, this.cols]);
        r.gradColumns = tf.matMul(tf.ones([G, 1, h1]), sq);
      }
      if (grads && !this.minibatch)
        this.cached = {
          step: stepsDone,
          grads: this.unflat(this.flat(grads).map((t) => tf.keep(t))),
        };
      if (records.trainOutputs) r.trainOutputs = tf.reshape(fw.f, [G, n]);
      if (records.probes)
        r.probes = tf.reshape(forward(this.shape, this.params, this.probeInputs!).f, [
          G,
          this.probes,
        ]);
      if (records.paramNorms) {
        const norms = [tf.sum(tf.reshape(tf.square(this.params.w0), [G, -1]), 1)];
        for (let l = 1; l < this.layers; l++) {
          const w = tf.sum(tf.square(this.params.ws[l - 1]!), [1, 2]);
          norms.push(
            this.shape.bias ? tf.add(w, tf.sum(tf.square(this.params.bs[l - 1]!), [1, 2])) : w,
          );
        }
        r.paramNorms = tf.sqrt(tf.stack(norms, 1));
      }
      if (records.deadUnits)
        r.deadUnits = tf.stack(
          fw.acts.map((a) => tf.mean(tf.cast(tf.lessEqual(tf.max(a, 2), 0), 'float32'), 1)),
          1,
        );
      return r;
    });
    const read = (key: string) => {
      const t = reads[key];
      return t ? (t.dataSync() as Float32Array) : undefined;
    };
    const scatter = (v: Float32Array | undefined, target: Float32Array, width: number) => {
      if (v)
        members.forEach((i, g) => target.set(v.subarray(g * width, (g + 1) * width), i * width));
    };
    const le = read('lossError')!;
    members.forEach((i, g) => {
      out.loss[i] = le[2 * g]!;
      out.error[i] = le[2 * g + 1]!;
      if (!Number.isFinite(le[2 * g]!) && this.hostDiverged[g] === -1)
        this.hostDiverged[g] = stepsDone;
    });
    const cols = read('gradColumns');
    if (cols) {
      const D = this.dim;
      members.forEach((i, g) => {
        let total = 0;
        for (let j = 0; j < D; j++) total += cols[g * this.cols + j]!;
        for (let j = 0; j < D; j++)
          out.gradShare[i * D + j] = total > 0 ? cols[g * this.cols + j]! / total : 0;
      });
    }
    scatter(read('probes'), out.probeOutputs, this.probes);
    scatter(read('trainOutputs'), out.trainOutputs, n);
    scatter(read('paramNorms'), out.paramNorms, this.layers);
    scatter(read('deadUnits'), out.deadUnits, this.layers - 1);
    tf.dispose(Object.values(reads));
    this.readDivergence(out.divergedAt);
  }

  /** Per trial, the first step with non-finite parameters (device record) or loss (host record), or -1. */
  readDivergence(out: Int32Array): void {
    const acc = this.acc.dataSync();
    const finite = this.finiteSteps.dataSync();
    this.members.forEach((i, g) => {
      const params = Number.isFinite(acc[g]!) ? -1 : finite[g]! + 1;
      const host = this.hostDiverged[g]!;
      out[i] = params < 0 ? host : host < 0 ? params : Math.min(params, host);
    });
  }

  private dropCache(): void {
    if (this.cached) tf.dispose(this.flat(this.cached.grads));
    this.cached = undefined;
  }

  dispose(): void {
    this.dropCache();
    tf.dispose([
      ...this.flat(this.params),
      ...this.opt.m,
      ...this.opt.v,
      this.acc,
      this.finiteSteps,
      ...this.owned,
    ]);
    this.owned.length = 0;
  }
}
