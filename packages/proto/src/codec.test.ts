import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, ErrorCode, ValidationError } from '@dynlab/core';
import { v1, encode, decode, toPlain, typeName, type MessageType } from './index';

/** One filled-in example per message type: every type that crosses the wire must appear here. */
const examples: [MessageType<unknown>, Record<string, unknown>][] = [
  [
    v1.ErrorInfo,
    { code: 'VALIDATION', message: 'bad', retryable: true, details: { 'issue.0': 'a: b' } },
  ],
  [
    v1.ServiceHeartbeat,
    {
      service: 'trainer',
      instance: 'i1',
      backend: 'wasm',
      busy: 1,
      capacity: 2,
      uptimeS: 1.5,
      timeMs: 1700000000000,
      version: '0.1.0',
    },
  ],
  [
    v1.DeadLetter,
    {
      subject: 's',
      stream: 'DYNLAB_JOBS',
      streamSeq: 7,
      deliveries: 5,
      reason: 'r',
      error: { code: 'INTERNAL', message: 'm' },
      payload: new Uint8Array([1, 2]),
      timeMs: 5,
      consumer: 'trainers',
    },
  ],
  [
    v1.TrialSpec,
    {
      id: 't',
      data: {
        features: {
          n: 10,
          features: [{ frequency: 0.5, norm: 2, informative: true, knockedOut: true }],
          labelNoise: 0.1,
        },
        seed: 3,
      },
      model: {
        kind: 'MODEL_KIND_RELU',
        hidden: [4, 4],
        bias: true,
        trainable: [true, false, true],
        biasTrainable: [true, true, true],
      },
      init: {
        kind: 'INIT_KIND_ORTHOGONAL',
        scale: 0.5,
        fanIn: true,
        layers: [{ layer: 1, weights: [1, 2], bias: [0.5] }],
        biasScale: 0.1,
      },
      loss: { kind: 'LOSS_KIND_HINGE', margin: 2, reduction: 'REDUCTION_SUM' },
      regularizer: { weightDecay: 0.01, spectralDecoupling: 0.1 },
      optimizer: {
        kind: 'OPTIMIZER_KIND_ADAM',
        learningRate: 0.001,
        batchSize: 5,
        momentum: 0.9,
        beta1: 0.8,
        beta2: 0.99,
        epsilon: 1e-7,
      },
      steps: 100,
      seed: 42,
      record: {
        steps: [0, 5],
        every: 2,
        logPoints: 10,
        quantities: ['QUANTITY_LOSS', 'QUANTITY_GRAD_SHARE'],
        probes: [{ name: 'e1', x: [1, 0] }],
      },
      params: { 'optimizer.learningRate': '0.001' },
      seedIndex: 1,
    },
  ],
  [
    v1.DataSpec,
    { gaussian: { n: 5, dim: 2, scales: [1, 2], teacher: [1, 1], minMargin: 0.1, labelNoise: 0 } },
  ],
  [v1.DataSpec, { moons: { n: 5, noise: 0.1, delta: -0.2 } }],
  [v1.DataSpec, { inline: { n: 1, dim: 2, x: [0.5, -1], y: [1] } }],
  [
    v1.TelemetryChunk,
    {
      sweepId: 's',
      trialId: 't',
      chunkIndex: 2,
      last: true,
      steps: [1, 2],
      loss: [0.5, 0.25],
      error: [0.5, 0],
      features: 2,
      gradShare: [0.75, 0.25, 0.5, 0.5],
      probes: 1,
      probeOutputs: [1, 2],
      layers: 2,
      paramNorms: [1, 2, 3, 4],
      deadUnits: [0, 0.5],
      trainPoints: 1,
      trainOutputs: [0.5, 1],
      jobId: 'j',
    },
  ],
  [
    v1.TrialResult,
    {
      sweepId: 's',
      trialId: 't',
      status: 'TRIAL_STATUS_DIVERGED',
      finalLoss: 1.5,
      finalError: 0.25,
      stepsDone: 10,
      backend: 'wasm',
      wallS: 0.5,
      error: { code: 'X' },
      telemetryChunks: 3,
      telemetryPoints: 30,
      jobId: 'j',
      instance: 'i',
      params: { a: '1' },
    },
  ],
  [
    v1.JobResult,
    {
      sweepId: 's',
      jobId: 'j',
      instance: 'i',
      results: [
        { sweepId: 's', trialId: 't1', status: 'TRIAL_STATUS_OK', jobId: 'j', params: { a: '1' } },
        { sweepId: 's', trialId: 't2', status: 'TRIAL_STATUS_FAILED', error: { code: 'X' } },
      ],
    },
  ],
  [
    v1.JobResult,
    {
      sweepId: 's',
      jobId: 'j',
      instance: 'i',
      trialIndices: [4, 5],
      statuses: new Uint8Array([1, 3]),
      finalLoss: [0.5, 2],
      finalError: [0, 0.25],
      stepsDone: [10, 3],
      telemetryChunks: [1, 1],
      telemetryPoints: [7, 2],
      backend: 'native',
      wallS: 0.5,
      errors: [{ position: 1, error: { code: 'X', message: 'm' } }],
      jobError: { code: 'Y' },
    },
  ],
  [v1.TrialError, { position: 3, error: { code: 'X' } }],
  [
    v1.TrialRange,
    {
      template: 1,
      firstIndex: 640,
      firstSeedIndex: 10,
      seeds: [10, 11, 12],
      dataSeedFixed: true,
      dataSeed: 5,
    },
  ],
  [
    v1.Job,
    {
      jobId: 'j3',
      sweepId: 's',
      shape: '[1]',
      templates: [{ steps: 3, params: { lr: '0.1' } }],
      ranges: [{ template: 0, firstIndex: 0, seeds: [0, 1, 2, 3] }],
    },
  ],
  [
    v1.TelemetryBatch,
    {
      sweepId: 's',
      jobId: 'j',
      chunkIndex: 1,
      part: 2,
      chunks: [
        { sweepId: 's', trialId: 't1', chunkIndex: 1, steps: [3], loss: [0.5] },
        { sweepId: 's', trialId: 't2', chunkIndex: 1, last: true, steps: [3], loss: [0.25] },
      ],
    },
  ],
  [v1.OutcomeShard, { first: 16384, statuses: new Uint8Array([0, 1, 2, 3, 4]), run: 2 }],
  [
    v1.TrialRef,
    { template: 1, id: 't2', seed: 7, seedIndex: 3, dataSeed: 7, params: { seed: '7' } },
  ],
  [
    v1.Job,
    {
      jobId: 'j2',
      sweepId: 's',
      shape: '[1]',
      templates: [{ steps: 3, params: { lr: '0.1' } }],
      refs: [{ template: 0, id: 't1', seed: 1, dataSeed: 1, params: { seed: '1' } }],
    },
  ],
  [
    v1.Job,
    { jobId: 'j', sweepId: 's', trials: [{ id: 't1', steps: 3 }], shape: '[1]', createdMs: 12 },
  ],
  [v1.CancelNotice, { sweepId: 's' }],
  [
    v1.Finding,
    {
      analyzer: 'a',
      analyzerVersion: '1',
      sweepId: 's',
      trialId: 't',
      kind: 'starved-feature',
      severity: 'SEVERITY_ALERT',
      evidence: { share: 0.01 },
      message: 'm',
      timeMs: 3,
      relatedTrials: ['u'],
      findingId: 'f',
    },
  ],
  [
    v1.SweepSpec,
    {
      name: 'n',
      base: { steps: 5 },
      axes: [
        {
          path: 'p',
          valuesJson: ['1', '"x"'],
          range: { min: 1, max: 2, log: true, integer: true },
        },
      ],
      mode: 'AXIS_MODE_RANDOM',
      samples: 3,
      randomSeed: 4,
      seedCount: 2,
      seeds: [1, 2],
      population: 8,
      analyzers: ['x'],
    },
  ],
  [
    v1.SweepStatus,
    {
      sweepId: 's',
      name: 'n',
      state: 'SWEEP_STATE_COMPLETE',
      counts: { total: 4, ok: 1, diverged: 1, failed: 1, cancelled: 1, jobs: 2 },
      createdMs: 1,
      updatedMs: 2,
      finishedMs: 3,
      findings: 5,
    },
  ],
  [v1.SubmitSweepRequest, { spec: { name: 'n' }, sweepId: 'id' }],
  [v1.SubmitSweepReply, { error: { code: 'VALIDATION' }, status: { sweepId: 's' } }],
  [v1.GetSweepRequest, { sweepId: 's' }],
  [v1.GetSweepReply, { status: { sweepId: 's' }, spec: { name: 'n' } }],
  [v1.ListSweepsRequest, { limit: 5 }],
  [v1.ListSweepsReply, { sweeps: [{ sweepId: 'a' }, { sweepId: 'b' }] }],
  [v1.CancelSweepRequest, { sweepId: 's' }],
  [v1.CancelSweepReply, { status: { sweepId: 's', state: 'SWEEP_STATE_CANCELLED' } }],
  [v1.ResumeSweepRequest, { sweepId: 's' }],
  [v1.ResumeSweepReply, { status: { sweepId: 's' }, requeuedTrials: 7 }],
];

const float32 = (x: number) => Math.fround(x);
/** Float fields come back as float32; compare through toPlain of a re-created message. */
function normalize(type: MessageType<unknown>, obj: Record<string, unknown>) {
  return toPlain(type, type.fromObject(obj));
}

test('every message type round-trips through the codec', () => {
  const covered = new Set<string>();
  for (const [type, obj] of examples) {
    const bytes = encode(type, type.fromObject(obj));
    assert.ok(bytes.length > 0, typeName(type));
    const back = toPlain(type, decode(type, bytes));
    // bytes fields decode as Buffer (a Uint8Array subclass): compare contents
    const plainBytes = (o: unknown): unknown =>
      o instanceof Uint8Array
        ? [...o]
        : Array.isArray(o)
          ? o.map(plainBytes)
          : o && typeof o === 'object'
            ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plainBytes(v)]))
            : o;
    assert.deepEqual(plainBytes(back), plainBytes(normalize(type, obj)), typeName(type));
    covered.add(typeName(type));
  }
  const all = Object.entries(v1)
    .filter(
      ([, t]) =>
        typeof t === 'function' && typeof (t as { decode?: unknown }).decode === 'function',
    )
    .map(([name]) => `dynlab.v1.${name}`);
  const nested = new Set([
    'dynlab.v1.FeatureSpec',
    'dynlab.v1.FeaturesData',
    'dynlab.v1.GaussianData',
    'dynlab.v1.MoonsData',
    'dynlab.v1.InlineData',
    'dynlab.v1.ModelSpec',
    'dynlab.v1.LayerInit',
    'dynlab.v1.InitSpec',
    'dynlab.v1.LossSpec',
    'dynlab.v1.RegularizerSpec',
    'dynlab.v1.OptimizerSpec',
    'dynlab.v1.Probe',
    'dynlab.v1.RecordSpec',
    'dynlab.v1.Range',
    'dynlab.v1.Axis',
    'dynlab.v1.SweepCounts',
  ]);
  const missing = all.filter((n) => !covered.has(n) && !nested.has(n));
  assert.deepEqual(missing, [], 'every top-level message has an example');
  const loss = toPlain(
    v1.TelemetryChunk,
    decode(v1.TelemetryChunk, encode(v1.TelemetryChunk, { loss: [0.1] })),
  ).loss as number[];
  assert.deepEqual(loss, [float32(0.1)], 'packed floats travel as float32');
});

test('a corrupted payload is a typed DecodeError naming the type, never a crash', () => {
  const good = encode(v1.Job, { jobId: 'j', trials: [{ id: 't', steps: 3 }] });
  const corrupt = [
    good.slice(0, good.length - 2),
    new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]),
    new Uint8Array([0x0a, 0x50, 0x01]),
  ];
  for (const bytes of corrupt) {
    assert.throws(
      () => decode(v1.Job, bytes),
      (err: unknown) =>
        err instanceof DecodeError &&
        err.code === ErrorCode.Decode &&
        err.details.type === 'dynlab.v1.Job',
    );
  }
});

test('encoding an object of the wrong shape is a ValidationError', () => {
  assert.throws(
    () => encode(v1.Job, { jobId: 42 }),
    (err: unknown) => err instanceof ValidationError && /jobId/.test(err.message),
  );
});
