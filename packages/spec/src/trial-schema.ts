/**
 * The trial spec as users write it (YAML or JSON). Field names are the camelCase JSON names of
 * the `dynlab.v1.TrialSpec` protobuf message, so a spec converts to the wire form without a
 * hand-written mapping per field. Defaults live here, unknown keys are rejected, and the output of
 * `parse` is a `CompiledTrial`: every field present, enums as short lowercase names.
 */
import { z } from 'zod';

const finite = z.number().finite();
const nonNeg = finite.nonnegative();
const positive = finite.positive();
const count = z.number().int().positive();
const fraction = finite.min(0).max(1);
const floats = z.array(finite);

export const FeatureSchema = z
  .object({
    frequency: fraction.default(1),
    norm: nonNeg.default(1),
    informative: z.boolean().default(true),
    knockedOut: z.boolean().default(false),
  })
  .strict();

const FeaturesDataSchema = z
  .object({
    n: count,
    features: z.array(FeatureSchema).min(1, 'expected at least one feature'),
    labelNoise: fraction.default(0),
  })
  .strict();
const GaussianDataSchema = z
  .object({
    n: count,
    dim: count,
    scales: z.array(positive).default([]),
    teacher: floats.default([]),
    minMargin: nonNeg.default(0),
    labelNoise: fraction.default(0),
  })
  .strict();
const MoonsDataSchema = z
  .object({ n: count, noise: nonNeg.default(0.1), delta: finite.default(0) })
  .strict();
const InlineDataSchema = z
  .object({ n: count, dim: count, x: floats, y: z.array(z.union([z.literal(-1), z.literal(1)])) })
  .strict();

/** `data` holds exactly one of `features`, `gaussian`, `moons`, `inline` (the protobuf oneof), plus an optional `seed`. */
export const DataSchema = z
  .object({
    features: FeaturesDataSchema.optional(),
    gaussian: GaussianDataSchema.optional(),
    moons: MoonsDataSchema.optional(),
    inline: InlineDataSchema.optional(),
    seed: z.number().int().nonnegative().optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const kinds = dataKinds.filter((k) => d[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `expected exactly one of ${dataKinds.join(', ')}, got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`,
      });
  });
export const dataKinds = ['features', 'gaussian', 'moons', 'inline'] as const;

export const modelKinds = ['linear', 'deepLinear', 'relu'] as const;
export const ModelSchema = z
  .object({
    kind: z.enum(modelKinds).default('relu'),
    hidden: z.array(count).default([]),
    bias: z.boolean().default(false),
    trainable: z.array(z.boolean()).default([]),
    biasTrainable: z.array(z.boolean()).default([]),
  })
  .strict();

export const initKinds = ['gaussian', 'uniform', 'orthogonal'] as const;
export const LayerInitSchema = z
  .object({
    layer: z.number().int().nonnegative(),
    weights: floats.default([]),
    bias: floats.default([]),
  })
  .strict();
export const InitSchema = z
  .object({
    kind: z.enum(initKinds).default('gaussian'),
    scale: nonNeg.default(0.1),
    fanIn: z.boolean().default(false),
    biasScale: nonNeg.default(0),
    layers: z.array(LayerInitSchema).default([]),
  })
  .strict();

export const lossKinds = ['logistic', 'hinge', 'squared'] as const;
export const reductions = ['mean', 'sum'] as const;
export const LossSchema = z
  .object({
    kind: z.enum(lossKinds).default('logistic'),
    margin: positive.default(1),
    reduction: z.enum(reductions).default('mean'),
  })
  .strict();

export const RegularizerSchema = z
  .object({ weightDecay: nonNeg.default(0), spectralDecoupling: nonNeg.default(0) })
  .strict();

export const optimizerKinds = ['gd', 'sgd', 'momentum', 'adam'] as const;
export const OptimizerSchema = z
  .object({
    kind: z.enum(optimizerKinds).default('gd'),
    learningRate: positive.default(0.1),
    batchSize: z.number().int().nonnegative().default(0),
    momentum: fraction.default(0.9),
    beta1: fraction.default(0.9),
    beta2: fraction.default(0.999),
    epsilon: positive.default(1e-8),
  })
  .strict();

export const quantities = [
  'loss',
  'error',
  'gradShare',
  'probeOutputs',
  'trainOutputs',
  'paramNorms',
  'deadUnits',
] as const;
export type Quantity = (typeof quantities)[number];
export const ProbeSchema = z
  .object({ name: z.string().default(''), x: floats.min(1, 'expected a non-empty input') })
  .strict();
export const RecordSchema = z
  .object({
    steps: z.array(z.number().int().nonnegative()).default([]),
    every: z.number().int().nonnegative().default(0),
    logPoints: z.number().int().nonnegative().default(100),
    quantities: z
      .array(z.enum(quantities))
      .default(['loss', 'error', 'gradShare', 'probeOutputs', 'paramNorms', 'deadUnits']),
    probes: z.array(ProbeSchema).default([]),
  })
  .strict();

/** A trial as written by a user (before defaults). */
export const TrialSchema = z
  .object({
    id: z.string().default(''),
    data: DataSchema,
    model: ModelSchema.default({}),
    init: InitSchema.default({}),
    loss: LossSchema.default({}),
    regularizer: RegularizerSchema.default({}),
    optimizer: OptimizerSchema.default({}),
    steps: z.number().int().positive().max(10_000_000).default(1000),
    seed: z.number().int().nonnegative().max(0xffffffff).default(0),
    record: RecordSchema.default({}),
    params: z.record(z.string()).default({}),
    seedIndex: z.number().int().nonnegative().default(0),
  })
  .strict();

export type TrialInput = z.input<typeof TrialSchema>;
export type ParsedTrial = z.output<typeof TrialSchema>;
