/**
 * A small run over every code path of the addon, for memcheck (valgrind) to watch: each model
 * kind, full-batch and minibatch steps, every optimizer, every measurement, probes, passes split
 * over one, two and three threads, the C++ shape
 * errors (exceptions thrown across the N-API boundary), dispose twice, and a program left to the
 * garbage collector's finalizer. Run as a script (`node --expose-gc dist/sanitizer-workload.js`);
 * it prints one line and exits 0.
 */
import { compileTrial, quantities, type TrialInput } from '@dynlab/spec';
import { createNativeProgram } from './index';
import { loadAddon } from './native-addon';
import { nativeConfig } from './native-config';
import { fixtureData, fixtureParams } from './test-fixtures';

const n = 12;
const dim = 3;
const data = fixtureData(3, n, dim);
const other = fixtureData(4, n, dim);

function trial(
  model: TrialInput['model'],
  optimizer: TrialInput['optimizer'],
  loss: 'logistic' | 'hinge' | 'squared',
) {
  return compileTrial({
    data: { inline: { n, dim, x: [...data.x], y: [...data.y] as (1 | -1)[] } },
    model,
    optimizer,
    loss: { kind: loss },
    regularizer: { weightDecay: 0.01, spectralDecoupling: 0.01 },
    steps: 20,
    record: { quantities: [...quantities], probes: [{ x: [1, 0, 0] }, { x: [0, 1, 0] }] },
  });
}

const cases = [
  trial({ kind: 'linear', bias: true }, { kind: 'adam' }, 'logistic'),
  trial({ kind: 'deepLinear', hidden: [4, 3] }, { kind: 'momentum' }, 'squared'),
  trial(
    { kind: 'relu', hidden: [5], bias: true, trainable: [false, true] },
    { kind: 'sgd', batchSize: 5 },
    'hinge',
  ),
  trial({ kind: 'relu', hidden: [4, 3, 2], bias: true }, { kind: 'gd' }, 'logistic'),
];
let losses = 0;
// On one thread, and with every full-batch pass split over two and three (csrc/team.h).
for (const threads of ['1', '2', '3'])
  for (const t of cases) {
    process.env.DYNLAB_NATIVE_THREADS = threads;
    const trials = [t, t, t];
    const params = trials.map((tt, p) => fixtureParams(tt, p + 1));
    const program = createNativeProgram(trials, [data, other, data], params);
    program.measure();
    program.advance(7);
    const m = program.measure();
    program.advance(3);
    program.readParams();
    losses += m.loss[0]! + program.measure().loss[2]!;
    program.dispose();
    program.dispose();
  }
delete process.env.DYNLAB_NATIVE_THREADS;

const { addon } = loadAddon();
const good = nativeConfig([cases[0]!], [data], [fixtureParams(cases[0]!, 1)]);
let refused = 0;
for (const patch of [
  (c: typeof good) => (c.arrays.x[0] = new Float32Array(2)),
  (c: typeof good) => (c.config.widths = Int32Array.of(3, 2)),
]) {
  const c = structuredClone(good);
  patch(c);
  try {
    new addon!.Population(c.config, c.arrays);
  } catch {
    refused++;
  }
}

// Left to the finalizer: the addon object is collected and frees its native memory (and, split
// over two threads, joins its team's thread).
(() => createNativeProgram([cases[3]!], [data], [fixtureParams(cases[3]!, 9)]).advance(2))();
process.env.DYNLAB_NATIVE_THREADS = '2';
(() => createNativeProgram([cases[3]!], [data], [fixtureParams(cases[3]!, 9)]).advance(2))();
delete process.env.DYNLAB_NATIVE_THREADS;
(globalThis as { gc?: () => void }).gc?.();

console.log(`sanitizer workload done: losses ${losses.toFixed(6)}, refused ${refused}`);
