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
 * divergence record, so the number of live tensors is flat across steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CompiledTrial } from '@dynlab/spec';
import type { InitialParams, PopulationMeasurement, PopulationProgram, PreparedData, ProgramHelpers } from './population-program';
import { usesMinibatches } from './minibatch';
import { dataLoss, forward, gradients, outputGrad, type Batch, type GroupParams, type ModelShape, type ObjectiveCoefs } from './tfjs-model';

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
  f: tf.Tensor3D;
  grads: GroupParams;
}

/** Builds the tfjs program; the active tfjs backend runs it. */
export function createTfjsProgram(trials: readonly CompiledTrial[], data: readonly PreparedData[], params: readonly InitialParams[], helpers: ProgramHelpers): PopulationProgram {
  return new TfjsProgram(trials, data, params, helpers);
}

class TfjsProgram implements PopulationProgram {
  readonly size: number;
  stepsDone = 0;
  private readonly groups: FoldedGroup[] = [];

  constructor(trials: readonly CompiledTrial[], data: readonly PreparedData[], params: readonly InitialParams[], helpers: ProgramHelpers) {
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
    for (const members of byKey.values()) this.groups.push(new FoldedGroup(members, trials, data[members[0]!]!, params, helpers));
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
  readonly records: { gradShare: boolean; probes: boolean; trainOutputs: boolean; paramNorms: boolean; deadUnits: boolean };
  private readonly shape: ModelShape;
  private readonly G: number;
  private readonly full: Batch;
  private readonly probeInputs?: tf.Tensor3D;
  private params: GroupParams;
  private opt: OptimizerState = { m: [], v: [] };
  private divAt: tf.Tensor1D;
  private cached?: Cached;
  private readonly coefs: ObjectiveCoefs;
  private readonly lr: Coef;
  private readonly wd: Coef;
  private readonly momentum: Coef;
  private readonly beta1: Coef;
  private readonly beta2: Coef;
  private readonly eps: Coef;
  private readonly trainability: Trainability[];
  private readonly optimizer: CompiledTrial['optimizer']['kind'];
  private readonly minibatch: boolean;
  private readonly anyDecay: boolean;
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
    this.dim = D;
    this.n = data.n;
    this.layers = widths.length - 1;
    this.probes = t0.record.probes.length;
    this.shape = { kind: t0.model.kind, widths, loss: t0.loss.kind, reduction: t0.loss.reduction, size: G };
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
    // Data: XT [D+1, N] with a row of ones, X [N, D+1], y [1, 1, N].
    const n = data.n;
    const xe = new Float32Array(n * (D + 1));
    for (let i = 0; i < n; i++) {
      xe.set(data.x.subarray(i * D, (i + 1) * D), i * (D + 1));
      xe[i * (D + 1) + D] = 1;
    }
    const x = keep(tf.tensor2d(xe, [n, D + 1]));
    this.full = { x, xt: keep(tf.transpose(x)), y: keep(tf.tensor3d(data.y, [1, 1, n])) };
    if (this.records.probes) {
      const K = this.probes;
      const pt = new Float32Array(G * (D + 1) * K);
      mine.forEach((t, g) =>
        t.record.probes.forEach((p, k) => {
          for (let j = 0; j < D; j++) pt[g * (D + 1) * K + j * K + k] = p.x[j]!;
          pt[g * (D + 1) * K + D * K + k] = 1;
        }),
      );
      this.probeInputs = keep(tf.tensor3d(pt, [G, D + 1, K]));
    }

    // Parameters, trial-major.
    const w0 = new Float32Array(G * h1 * (D + 1));
    members.forEach((i, g) => {
      const p = params[i]!;
      for (let h = 0; h < h1; h++) {
        w0.set(p.weights[0]!.subarray(h * D, (h + 1) * D), (g * h1 + h) * (D + 1));
        w0[(g * h1 + h) * (D + 1) + D] = p.biases[0]![h]!;
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
    this.params = { w0: tf.keep(tf.tensor2d(w0, [G * h1, D + 1])), ws, bs };

    const coef = (values: number[]): Coef => {
      const rows = new Float32Array(G * h1);
      values.forEach((v, g) => rows.fill(v, g * h1, (g + 1) * h1));
      return { row: keep(tf.tensor2d(rows, [G * h1, 1])), cube: keep(tf.tensor3d(values, [G, 1, 1])), values };
    };
    this.lr = coef(mine.map((t) => t.optimizer.learningRate));
    this.wd = coef(mine.map((t) => t.regularizer.weightDecay));
    this.anyDecay = this.wd.values.some((v) => v > 0);
    this.momentum = coef(mine.map((t) => t.optimizer.momentum));
    this.beta1 = coef(mine.map((t) => t.optimizer.beta1));
    this.beta2 = coef(mine.map((t) => t.optimizer.beta2));
    this.eps = coef(mine.map((t) => t.optimizer.epsilon));
    this.coefs = {
      margin: coef(mine.map((t) => t.loss.margin)).cube,
      spectralDecoupling: coef(mine.map((t) => t.regularizer.spectralDecoupling)).cube,
    };

    // Which parameters train: W0's weights and bias column separately, then each later layer.
    const { trainable, biasTrainable, bias } = t0.model;
    const trainW = trainable[0] ?? true;
    const trainB = bias && (biasTrainable[0] ?? false);
    const first: Trainability =
      !trainW && !trainB
        ? { frozen: true }
        : trainW && trainB
          ? { frozen: false }
          : { frozen: false, mask: keep(tf.tensor2d(Array.from({ length: D + 1 }, (_, j) => ((j === D ? trainB : trainW) ? 1 : 0)), [1, D + 1])) };
    this.trainability = [first];
    for (let l = 1; l < this.layers; l++) this.trainability.push({ frozen: !(trainable[l] ?? true) });
    for (let l = 1; l < this.layers; l++) this.trainability.push({ frozen: !(bias && (biasTrainable[l] ?? false)) });
    if (this.optimizer === 'momentum' || this.optimizer === 'adam') {
      this.opt.m = this.flat(this.params).map((p) => tf.keep(tf.zerosLike(p)));
      if (this.optimizer === 'adam') this.opt.v = this.flat(this.params).map((p) => tf.keep(tf.zerosLike(p)));
    }
    this.divAt = tf.keep(tf.fill([G], -1));
  }

  /** Parameters as one list: W0, the later weights, the later biases (the order of `trainability`). */
  private flat(p: GroupParams): tf.Tensor[] {
    return [p.w0, ...p.ws, ...p.bs];
  }

  private unflat(list: tf.Tensor[]): GroupParams {
    const k = this.layers - 1;
    return { w0: list[0] as tf.Tensor2D, ws: list.slice(1, 1 + k) as tf.Tensor3D[], bs: list.slice(1 + k) as tf.Tensor3D[] };
  }

  private batch(step: number): Batch {
    if (!this.minibatch) return this.full;
    const idx = tf.tensor1d(this.batchOf(step), 'int32');
    return { xt: tf.gather(this.full.xt, idx, 1), x: tf.gather(this.full.x, idx, 0), y: tf.gather(this.full.y, idx, 2) };
  }

  /** f and the data+SD gradients at the current parameters on a batch. */
  private evaluate(b: Batch): { f: tf.Tensor3D; grads: GroupParams; fw: ReturnType<typeof forward> } {
    const fw = forward(this.shape, this.params, b.xt);
    const df = outputGrad(this.shape, fw.f, b.y, this.coefs);
    return { f: fw.f, fw, grads: gradients(this.shape, this.params, fw, df, b.x) };
  }

  /** Per-trial sum of every parameter: NaN or Inf as soon as one parameter is. */
  private paramSum(p: GroupParams): tf.Tensor1D {
    let s = tf.sum<tf.Tensor1D>(tf.reshape(p.w0, [this.G, -1]), 1);
    for (const t of [...p.ws, ...p.bs]) s = tf.add<tf.Tensor1D>(s, tf.sum(t, [1, 2]));
    return s;
  }

  /** Records `at` as the divergence step of every trial whose `value` is not finite and that had not diverged. */
  private markDivergence(divAt: tf.Tensor1D, value: tf.Tensor1D, at: number): tf.Tensor1D {
    const fresh = tf.logicalAnd(tf.less(divAt, 0), tf.logicalNot(tf.isFinite(value)));
    return tf.where(fresh, tf.fill([this.G], at), divAt);
  }

  step(stepIndex: number): void {
    const cached = this.cached?.step === stepIndex ? this.cached : undefined;
    this.cached = undefined;
    const next = tf.tidy(() => {
      const ev = cached ?? this.evaluate(this.batch(stepIndex));
      let divAt = this.markDivergence(this.divAt, tf.sum(ev.f, [1, 2]), stepIndex);
      const { params, opt } = this.update(ev.grads, stepIndex + 1);
      divAt = this.markDivergence(divAt, this.paramSum(params), stepIndex + 1);
      return { params: this.flat(params), m: opt.m, v: opt.v, divAt };
    });
    if (cached) tf.dispose([cached.f, ...this.flat(cached.grads)]);
    const old = [...this.flat(this.params), ...this.opt.m, ...this.opt.v, this.divAt];
    this.params = this.unflat(next.params);
    this.opt = { m: next.m, v: next.v };
    this.divAt = next.divAt;
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
      lrStep = this.perStep(this.lr.values.map((lr, g) => lr / (1 - Math.pow(this.beta1.values[g]!, t))));
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
      if (this.anyDecay) g = tf.add(g, tf.mul(pick(this.wd), p));
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
    return { row: tf.tensor2d(rows, [this.G * h1, 1]), cube: tf.tensor3d(values, [this.G, 1, 1]), values };
  }

  measure(stepsDone: number, out: PopulationMeasurement): void {
    const { G, members, records } = this;
    const needGrads = records.gradShare || !this.minibatch;
    this.dropCache();
    const reads = tf.tidy(() => {
      const fw = forward(this.shape, this.params, this.full.xt);
      const loss = dataLoss(this.shape, fw.f, this.full.y, this.coefs.margin);
      const error = tf.mean(tf.cast(tf.lessEqual(tf.mul(this.full.y, fw.f), 0), 'float32'), [1, 2]);
      const r: Record<string, tf.Tensor> = { loss, error };
      let divAt = this.markDivergence(this.divAt, loss, stepsDone);
      divAt = this.markDivergence(divAt, this.paramSum(this.params), stepsDone);
      r.divAt = divAt;
      if (needGrads) {
        const df = outputGrad(this.shape, fw.f, this.full.y, this.coefs);
        const grads = gradients(this.shape, this.params, fw, df, this.full.x);
        if (records.gradShare) {
          const h1 = this.shape.widths[1]!;
          const sq = tf.reshape(tf.square(grads.w0), [G, h1, this.dim + 1]);
          const perFeature = tf.slice(tf.reshape(tf.sum(sq, 1), [G, this.dim + 1]), [0, 0], [G, this.dim]);
          const total = tf.sum(perFeature, 1, true);
          const positive = tf.greater(total, 0);
          r.gradShare = tf.where(positive, tf.div(perFeature, tf.where(positive, total, tf.onesLike(total))), tf.zerosLike(perFeature));
        }
        if (!this.minibatch) {
          this.cached = { step: stepsDone, f: tf.keep(fw.f), grads: this.unflat(this.flat(grads).map((t) => tf.keep(t))) };
        }
      }
      if (records.trainOutputs) r.trainOutputs = tf.reshape(fw.f, [G, this.n]);
      if (records.probes) r.probes = tf.reshape(forward(this.shape, this.params, this.probeInputs!).f, [G, this.probes]);
      if (records.paramNorms) {
        const norms = [tf.sum(tf.reshape(tf.square(this.params.w0), [G, -1]), 1)];
        for (let l = 1; l < this.layers; l++) norms.push(tf.add(tf.sum(tf.square(this.params.ws[l - 1]!), [1, 2]), tf.sum(tf.square(this.params.bs[l - 1]!), [1, 2])));
        r.paramNorms = tf.sqrt(tf.stack(norms, 1));
      }
      if (records.deadUnits) {
        r.deadUnits = tf.stack(
          fw.acts.map((a) => tf.mean(tf.cast(tf.lessEqual(tf.max(a, 2), 0), 'float32'), 1)),
          1,
        );
      }
      return r;
    });
    tf.dispose(this.divAt);
    this.divAt = reads.divAt as tf.Tensor1D;
    delete reads.divAt;
    const scatter = (key: string, target: Float32Array, width: number) => {
      const t = reads[key];
      if (!t) return;
      const v = t.dataSync() as Float32Array;
      members.forEach((i, g) => target.set(v.subarray(g * width, (g + 1) * width), i * width));
    };
    scatter('loss', out.loss, 1);
    scatter('error', out.error, 1);
    scatter('gradShare', out.gradShare, this.dim);
    scatter('probes', out.probeOutputs, this.probes);
    scatter('trainOutputs', out.trainOutputs, this.n);
    scatter('paramNorms', out.paramNorms, this.layers);
    scatter('deadUnits', out.deadUnits, this.layers - 1);
    tf.dispose(Object.values(reads));
    this.readDivergence(out.divergedAt);
  }

  readDivergence(out: Int32Array): void {
    const v = this.divAt.dataSync();
    this.members.forEach((i, g) => (out[i] = v[g]!));
  }

  private dropCache(): void {
    if (this.cached) tf.dispose([this.cached.f, ...this.flat(this.cached.grads)]);
    this.cached = undefined;
  }

  dispose(): void {
    this.dropCache();
    tf.dispose([...this.flat(this.params), ...this.opt.m, ...this.opt.v, this.divAt, ...this.owned]);
    this.owned.length = 0;
  }
}
