/**
 * One worker thread of the native benchmark: builds its share of the population in its own addon
 * instance (BLAS pinned to one thread), waits for the start signal so that all workers run
 * together, runs the canonical workload and reports its time and profile.
 *
 * Why a worker per share: that is how the trainer runs populations (a piscina pool of one worker
 * per core, each with its own addon); the benchmark measures that arrangement.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileTrial } from '@dynlab/spec';
import { createNativeProgram } from '../index';
import { loadAddon } from '../native-addon';
import { fixtureData, fixtureParams } from '../test-fixtures';

/** What the main thread asks of a worker. */
export interface BenchJob {
  kind: 'train' | 'gemm';
  population: number;
  /** BLAS threads of this worker (1 in a pool; 2 lets a lone P=1 program use both cores). */
  blasThreads?: number;
  /** Threads that split each pass of this worker's program (DYNLAB_NATIVE_THREADS; 1 in a pool). */
  threads?: number;
  offset: number;
  samples: number;
  features: number;
  hidden: number;
  steps: number;
  gemm?: { m: number; n: number; k: number; transB: boolean; reps: number };
}

/** What a worker sends back. */
export interface BenchReply {
  seconds: number;
  profile?: { totalSeconds: number; gemmSeconds: number; updateSeconds: number; gemmFlops: number };
  finalLoss?: number;
}

const job = workerData as BenchJob;
const port = parentPort!;
if (job.blasThreads) process.env.DYNLAB_BLAS_THREADS = String(job.blasThreads);
if (job.threads) process.env.DYNLAB_NATIVE_THREADS = String(job.threads);

function train(): () => BenchReply {
  const trial = compileTrial({
    data: { gaussian: { n: job.samples, dim: job.features } },
    model: { kind: 'relu', hidden: [job.hidden], bias: true },
    loss: { kind: 'logistic' },
    optimizer: { kind: 'gd', learningRate: 0.1 },
    steps: job.steps,
    record: { every: 1, quantities: ['loss', 'error', 'gradShare'] },
  });
  const data = fixtureData(1, job.samples, job.features);
  const trials = Array.from({ length: job.population }, () => trial);
  const program = createNativeProgram(
    trials,
    trials.map(() => data),
    trials.map((t, p) => fixtureParams(t, 1 + job.offset + p)),
  );
  program.measure();
  program.advance(2);
  return () => {
    const before = program.profile();
    const t0 = process.hrtime.bigint();
    let last = 0;
    for (let s = 0; s < job.steps; s++) {
      last = program.measure().loss[0]!;
      program.advance(1);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = program.profile();
    program.dispose();
    const profile = {
      totalSeconds: after.totalSeconds - before.totalSeconds,
      gemmSeconds: after.gemmSeconds - before.gemmSeconds,
      updateSeconds: after.updateSeconds - before.updateSeconds,
      gemmFlops: after.gemmFlops - before.gemmFlops,
    };
    return { seconds, profile, finalLoss: last };
  };
}

function gemm(): () => BenchReply {
  const g = job.gemm!;
  const { addon } = loadAddon();
  return () => ({ seconds: addon!.gemmSeconds(g.m, g.n, g.k, g.transB, g.reps) });
}

const run = job.kind === 'train' ? train() : gemm();
port.postMessage('ready');
port.once('message', () => port.postMessage(run()));
