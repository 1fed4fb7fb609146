/**
 * `CompiledTrial`: a trial with every default applied and every cross-field rule checked
 * (dimensions of inline data, explicit initial weights, probes). The engine and the services take
 * only this type, so nothing downstream re-checks user input.
 */
import { ValidationError, type Issue } from '@dynlab/core';
import { z } from 'zod';
import { TrialSchema, type ParsedTrial, type Quantity } from './trial-schema';
import { formatPath } from './paths';

export type DataKind = 'features' | 'gaussian' | 'moons' | 'inline';
type P = ParsedTrial;
export type CompiledData =
  | ({ kind: 'features' } & NonNullable<P['data']['features']>)
  | ({ kind: 'gaussian' } & NonNullable<P['data']['gaussian']>)
  | ({ kind: 'moons' } & NonNullable<P['data']['moons']>)
  | ({ kind: 'inline' } & NonNullable<P['data']['inline']>);

export interface CompiledTrial extends Omit<P, 'data'> {
  /** The data source, tagged by kind; `seed` is resolved (the trial seed when unset). */
  data: CompiledData & { seed: number };
  /** Input dimension D (number of features, dim, or 2 for moons). */
  inputDim: number;
  /** Layer widths from input to output: [D, ...hidden, 1]. */
  widths: number[];
  quantities: ReadonlySet<Quantity>;
}

export type ModelKind = P['model']['kind'];
export type LossKind = P['loss']['kind'];
export type OptimizerKind = P['optimizer']['kind'];
export type InitKind = P['init']['kind'];

/** Converts zod's issues into dynlab's (path as users write it). */
export function zodIssues(err: z.ZodError, prefix: readonly (string | number)[] = []): Issue[] {
  return err.issues.map((i) => ({
    path: formatPath([...prefix, ...i.path]),
    message: issueMessage(i),
  }));
}

function issueMessage(i: z.ZodIssue): string {
  if (i.code === 'unrecognized_keys')
    return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
  if (i.code === 'invalid_type' && i.received === 'undefined')
    return `required (expected ${i.expected})`;
  return i.message;
}

/**
 * Validates a trial and applies defaults. Returns the compiled trial or every problem found,
 * each with its path (under `prefix`, e.g. `base`).
 */
export function checkTrial(
  input: unknown,
  prefix: readonly (string | number)[] = [],
): { trial?: CompiledTrial; issues: Issue[] } {
  const parsed = TrialSchema.safeParse(input);
  if (!parsed.success) return { issues: zodIssues(parsed.error, prefix) };
  const t = parsed.data;
  const issues: Issue[] = [];
  const at = (...p: (string | number)[]) => formatPath([...prefix, ...p]);
  const kind = (['features', 'gaussian', 'moons', 'inline'] as const).find(
    (k) => t.data[k] !== undefined,
  )!;
  const data = { kind, ...t.data[kind]!, seed: t.data.seed ?? t.seed } as CompiledTrial['data'];
  const inputDim =
    data.kind === 'features' ? data.features.length : data.kind === 'moons' ? 2 : data.dim;

  if (data.kind === 'inline') {
    if (data.x.length !== data.n * data.dim)
      issues.push({
        path: at('data', 'inline', 'x'),
        message: `expected n*dim = ${data.n * data.dim} values, got ${data.x.length}`,
      });
    if (data.y.length !== data.n)
      issues.push({
        path: at('data', 'inline', 'y'),
        message: `expected n = ${data.n} labels, got ${data.y.length}`,
      });
  }
  if (data.kind === 'gaussian') {
    if (data.scales.length !== 0 && data.scales.length !== data.dim)
      issues.push({
        path: at('data', 'gaussian', 'scales'),
        message: `expected ${data.dim} values (dim) or none, got ${data.scales.length}`,
      });
    if (data.teacher.length !== 0 && data.teacher.length !== data.dim)
      issues.push({
        path: at('data', 'gaussian', 'teacher'),
        message: `expected ${data.dim} values (dim) or none, got ${data.teacher.length}`,
      });
    if (data.teacher.length !== 0 && data.teacher.every((v) => v === 0))
      issues.push({
        path: at('data', 'gaussian', 'teacher'),
        message: 'expected a non-zero direction',
      });
  }
  if (
    data.kind === 'features' &&
    !data.features.some((f) => f.informative && !f.knockedOut && f.frequency > 0 && f.norm > 0)
  ) {
    // Still valid (a chance-level control), but say nothing: labels are balanced by construction.
  }

  const m = t.model;
  if (m.kind === 'linear' && m.hidden.length > 0)
    issues.push({
      path: at('model', 'hidden'),
      message: `a linear model has no hidden layers, got ${m.hidden.length}`,
    });
  if (m.kind !== 'linear' && m.hidden.length === 0)
    issues.push({
      path: at('model', 'hidden'),
      message: `a ${m.kind} model needs at least one hidden width`,
    });
  const widths = [inputDim, ...m.hidden, 1];
  const layers = widths.length - 1;
  if (m.trainable.length !== 0 && m.trainable.length !== layers)
    issues.push({
      path: at('model', 'trainable'),
      message: `expected ${layers} flags (one per layer) or none, got ${m.trainable.length}`,
    });
  if (m.biasTrainable.length !== 0 && m.biasTrainable.length !== layers)
    issues.push({
      path: at('model', 'biasTrainable'),
      message: `expected ${layers} flags (one per layer) or none, got ${m.biasTrainable.length}`,
    });

  t.init.layers.forEach((li, k) => {
    if (li.layer >= layers) {
      issues.push({
        path: at('init', 'layers', k, 'layer'),
        message: `layer ${li.layer} does not exist (the model has ${layers})`,
      });
      return;
    }
    const out = widths[li.layer + 1]!,
      inp = widths[li.layer]!;
    if (li.weights.length !== 0 && li.weights.length !== out * inp)
      issues.push({
        path: at('init', 'layers', k, 'weights'),
        message: `expected ${out}x${inp} = ${out * inp} values, got ${li.weights.length}`,
      });
    if (li.bias.length !== 0 && !m.bias)
      issues.push({
        path: at('init', 'layers', k, 'bias'),
        message: 'the model has no biases (model.bias is false)',
      });
    if (li.bias.length !== 0 && li.bias.length !== out)
      issues.push({
        path: at('init', 'layers', k, 'bias'),
        message: `expected ${out} values, got ${li.bias.length}`,
      });
  });
  if (new Set(t.init.layers.map((l) => l.layer)).size !== t.init.layers.length)
    issues.push({ path: at('init', 'layers'), message: 'a layer is given more than once' });

  t.record.probes.forEach((p, k) => {
    if (p.x.length !== inputDim)
      issues.push({
        path: at('record', 'probes', k, 'x'),
        message: `expected ${inputDim} values (the input dimension), got ${p.x.length}`,
      });
  });
  t.record.steps.forEach((s, k) => {
    if (s > t.steps)
      issues.push({
        path: at('record', 'steps', k),
        message: `step ${s} is past the last step (${t.steps})`,
      });
  });
  const n = data.n;
  if (t.optimizer.batchSize > n)
    issues.push({ path: at('optimizer', 'batchSize'), message: `larger than the data (n = ${n})` });
  if (t.optimizer.kind === 'sgd' && t.optimizer.batchSize === 0)
    issues.push({ path: at('optimizer', 'batchSize'), message: 'sgd needs a batch size (1 to n)' });
  if (issues.length > 0) return { issues };
  const trial: CompiledTrial = {
    ...t,
    data,
    inputDim,
    widths,
    model: {
      ...m,
      trainable: m.trainable.length ? m.trainable : Array<boolean>(layers).fill(true),
      biasTrainable: m.biasTrainable.length ? m.biasTrainable : Array<boolean>(layers).fill(m.bias),
    },
    quantities: new Set(t.record.quantities),
  };
  return { trial, issues };
}

/** Validates and compiles a trial, throwing a ValidationError with every problem. */
export function compileTrial(input: unknown): CompiledTrial {
  const { trial, issues } = checkTrial(input);
  if (!trial) throw new ValidationError(issues, { what: 'trial spec' });
  return trial;
}

/** The spec a trial was compiled from, as plain JSON (defaults applied; for the wire and for files). */
export function trialToInput(trial: CompiledTrial): ParsedTrial {
  const { data, inputDim: _d, widths: _w, quantities: _q, ...rest } = trial;
  const { kind, seed, ...body } = data;
  return { ...rest, data: { [kind]: body, seed } } as ParsedTrial;
}
