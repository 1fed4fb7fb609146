/**
 * `pnpm bench` for the engine: the canonical workload of issue 3 (D=100 features, N=1000 samples,
 * a ReLU net with H=100 hidden units, logistic loss, full-batch GD, 200 steps, the loss, error and
 * gradient share recorded every step) for populations P = 1, 16, 64, on every backend that runs
 * here, in this thread and in a 2-worker piscina pool (the population split between the workers,
 * as the trainer runs it), and the same workload in PyTorch where `/usr/bin/python3` can import
 * torch, in interleaved rounds. Prints network-steps per second (P x steps / wall time, data and
 * program set-up included) and effective GFLOP/s, the dynlab/PyTorch ratios against PyTorch's best
 * setting, and writes everything to bench/results/engine.json at the repository root.
 *
 * Sizes come from the environment so a quick run is possible: DYNLAB_BENCH_P (default "1,16,64"),
 * DYNLAB_BENCH_D, _N, _H, _STEPS, _REPEATS (median of this many runs, default 3), _BACKENDS
 * (default every backend; "wasm,cpu" for a subset), _CPU_STEPS (the plain-JS cpu backend is ~50x
 * slower, so it runs fewer steps, default 3, and one repeat), DYNLAB_BENCH_TORCH=0 to skip PyTorch,
 * and DYNLAB_BENCH_QUICK=1 for P=1,4, D=20, N=200, H=20, 20 steps, 1 repeat. The machine may be
 * shared with other work: each figure carries the load average it was taken under.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { compileTrial, trialToInput, type CompiledTrial } from '@dynlab/spec';
import { initBackend, type BackendInfo, type BackendName } from '../backend';
import type { PopulationTaskResult } from '../population-worker';
import { runPopulation } from '../run-population';
import { populationWorkerPath } from '../worker-path';

interface Config {
  P: number[];
  D: number;
  N: number;
  H: number;
  steps: number;
  cpuSteps: number;
  repeats: number;
  backends: BackendName[];
  torch: boolean;
}

interface Figure {
  backend: BackendName | 'pytorch';
  mode: string;
  P: number;
  steps: number;
  /** Network-steps per second of each repeat. */
  runs: number[];
  median: number;
  gflops: number;
  /** One-minute load average after each run (other processes share the cores). */
  loads: number[];
  /** Their median. */
  load: number;
}

const env = (k: string) => process.env[`DYNLAB_BENCH_${k}`];
const num = (k: string, d: number) => (env(k) ? Number(env(k)) : d);

function config(): Config {
  const quick = env('QUICK') === '1';
  return {
    P: (env('P') ?? (quick ? '1,4' : '1,16,64')).split(',').map(Number),
    D: num('D', quick ? 20 : 100),
    N: num('N', quick ? 200 : 1000),
    H: num('H', quick ? 20 : 100),
    steps: num('STEPS', quick ? 20 : 200),
    cpuSteps: num('CPU_STEPS', quick ? 2 : 3),
    repeats: num('REPEATS', quick ? 1 : 3),
    backends: (env('BACKENDS') ?? 'native,tensorflow,wasm,cpu').split(',') as BackendName[],
    torch: env('TORCH') !== '0',
  };
}

/** Model FLOPs of one network-step: forward and weight gradients of every layer, input gradients of the later layers. */
function flopsPerNetworkStep(c: Config): number {
  const w = [c.D * c.H, c.H];
  return 2 * c.N * (w[0]! + w[1]!) * 2 + 2 * c.N * w[1]!;
}

/** The canonical population: shared data (fixed data seed), trials differing in init seed and learning rate. */
function population(c: Config, P: number, steps: number): CompiledTrial[] {
  const features = Array.from({ length: c.D }, (_, j) => ({
    frequency: Math.min(1, 0.1 + (0.9 * j) / Math.max(1, c.D - 1)),
    norm: 1,
  }));
  return Array.from({ length: P }, (_, i) =>
    compileTrial({
      data: { features: { n: c.N, features }, seed: 0 },
      model: { kind: 'relu', hidden: [c.H] },
      init: { scale: 0.1 },
      loss: { kind: 'logistic' },
      optimizer: { kind: 'gd', learningRate: 0.01 * (1 + i / Math.max(1, P)) },
      steps,
      seed: i,
      record: { every: 1, quantities: ['loss', 'error', 'gradShare'] },
    }),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function figure(
  c: Config,
  backend: Figure['backend'],
  mode: string,
  P: number,
  steps: number,
  runs: number[],
  loads: number[],
): Figure {
  const m = median(runs);
  const gflops = (m * flopsPerNetworkStep(c)) / 1e9;
  return { backend, mode, P, steps, runs, median: m, gflops, loads, load: median(loads) };
}

/** One timed run of a population in this thread: network-steps per second. */
async function singleThread(c: Config, b: BackendName, P: number, steps: number): Promise<number> {
  const trials = population(c, P, steps);
  const t0 = performance.now();
  const res = await runPopulation(trials, { backend: b, onTelemetry: () => undefined });
  const wall = (performance.now() - t0) / 1000;
  const bad = res.outcomes.find((o) => o.status !== 'ok');
  if (bad) throw new Error(`${b}: a trial ended ${bad.status}`);
  return (P * steps) / wall;
}

/** A piscina pool of `workers` threads on one backend, warmed up, running populations split across it. */
async function startPool(c: Config, b: BackendName, workers: number) {
  const { Piscina } = await import('piscina');
  const piscina = new Piscina({
    filename: populationWorkerPath,
    minThreads: workers,
    maxThreads: workers,
  });
  const task = (trials: CompiledTrial[]) => {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', () => undefined);
    const done = piscina.run(
      { trials: trials.map(trialToInput), backend: b, chunkPoints: 25, port: port2 },
      { transferList: [port2] },
    ) as Promise<PopulationTaskResult>;
    return done.finally(() => port1.close());
  };
  for (let k = 0; k < WARMUP_RUNS; k++)
    await Promise.all(Array.from({ length: workers }, () => task(population(c, 1, WARMUP_STEPS))));
  return {
    /** One timed run of P trials split round-robin over the workers: network-steps per second. */
    async run(P: number, steps: number): Promise<number> {
      const trials = population(c, P, steps);
      const parts = Array.from({ length: workers }, (_, w) =>
        trials.filter((_, i) => i % workers === w),
      );
      const t0 = performance.now();
      const results = await Promise.all(parts.filter((p) => p.length > 0).map(task));
      const wall = (performance.now() - t0) / 1000;
      for (const res of results)
        if ('error' in res) throw new Error(`${b} worker: ${res.error.message}`);
      return (P * steps) / wall;
    },
    close: () => piscina.destroy(),
  };
}

const python = '/usr/bin/python3';
/** Warm-up before timing: V8 optimizes the runner and the program only after a few runs. */
const WARMUP_RUNS = 3;
const WARMUP_STEPS = 20;

/** Why PyTorch cannot be measured here, or undefined when it can. */
function torchProblem(): string | undefined {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.status === 0) return undefined;
  const why = (probe.stderr || probe.error?.message || '').trim().split('\n').pop();
  return `not measured: ${python} cannot import torch (${why}); apt-get install -y python3-torch libopenblas0-pthread`;
}

/** One timed PyTorch run per variant at one P and thread count: variant -> network-steps per second. */
function torchRun(c: Config, P: number, threads: number): Map<string, number> {
  const script = path.resolve(__dirname, '..', '..', 'bench', 'torch_bench.py');
  const cfg = { P: [P], D: c.D, N: c.N, H: c.H, steps: c.steps, repeats: 1, threads };
  const out = execFileSync(python, [script, JSON.stringify(cfg)], {
    encoding: 'utf8',
    env: {
      ...process.env,
      OMP_NUM_THREADS: String(threads),
      OPENBLAS_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
    },
    maxBuffer: 1 << 24,
  });
  const rates = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line) as { variant: string; netStepsPerS: number[] };
    rates.set(`${r.variant}, ${threads} thread${threads > 1 ? 's' : ''}`, r.netStepsPerS[0]!);
  }
  return rates;
}

function repoRoot(): string {
  return path.resolve(__dirname, '..', '..', '..', '..');
}

/**
 * Runs every measurement of one P in rounds: each round times every backend (one thread, then the
 * pool) and PyTorch once, so that load from other work on a shared machine falls on all of them
 * alike; the figure is the median over the rounds.
 */
async function main(): Promise<void> {
  const c = config();
  const log = (s: string) => process.stdout.write(s + '\n');
  const cpu = os.cpus()[0]?.model ?? '?';
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  log(
    `dynlab engine bench: D=${c.D} N=${c.N} H=${c.H}, logistic, full-batch GD, ${c.steps} steps, loss/error/gradShare every step, P=${c.P.join(',')}; ${os.cpus().length} cores (${cpu}), load ${load}`,
  );
  const backends: Record<string, BackendInfo | { unavailable: string }> = {};
  const available: BackendName[] = [];
  const pools = new Map<BackendName, Awaited<ReturnType<typeof startPool>>>();
  for (const b of c.backends) {
    try {
      const info = await initBackend(b);
      backends[b] = info;
      available.push(b);
      log(`${b}: ${info.detail}`);
      for (let k = 0; k < WARMUP_RUNS; k++)
        await runPopulation(population(c, 1, WARMUP_STEPS), { backend: b });
      pools.set(b, await startPool(c, b, 2));
    } catch (err) {
      backends[b] = { unavailable: (err as Error).message };
      log(`${b}: unavailable (${(err as Error).message})`);
    }
  }
  const torchNote = !c.torch ? 'skipped (DYNLAB_BENCH_TORCH=0)' : torchProblem();
  const figures: Figure[] = [];
  try {
    for (const P of c.P) {
      const runs = new Map<
        string,
        {
          backend: Figure['backend'];
          mode: string;
          steps: number;
          rates: number[];
          loads: number[];
        }
      >();
      const add = (backend: Figure['backend'], mode: string, steps: number, rate: number) => {
        const key = `${backend}|${mode}`;
        const entry = runs.get(key) ?? { backend, mode, steps, rates: [], loads: [] };
        entry.rates.push(rate);
        entry.loads.push(os.loadavg()[0]!);
        runs.set(key, entry);
      };
      for (let r = 0; r < c.repeats; r++) {
        for (const b of available) {
          if (b === 'cpu' && r > 0) continue;
          const steps = b === 'cpu' ? Math.min(c.cpuSteps, c.steps) : c.steps;
          await initBackend(b);
          add(b, '1 thread', steps, await singleThread(c, b, P, steps));
          if (P > 1) add(b, '2 workers', steps, await pools.get(b)!.run(P, steps));
        }
        if (torchNote === undefined)
          for (const threads of [1, 2])
            for (const [mode, rate] of torchRun(c, P, threads)) add('pytorch', mode, c.steps, rate);
      }
      for (const e of runs.values()) {
        const f = figure(c, e.backend, e.mode, P, e.steps, e.rates, e.loads);
        figures.push(f);
        const name = `${e.backend} ${e.mode}`.padEnd(26);
        log(
          `  P=${String(P).padStart(3)}  ${name} ${f.median.toFixed(0).padStart(6)} network-steps/s  ${f.gflops.toFixed(1).padStart(5)} GFLOP/s  (load ${f.load.toFixed(1)})`,
        );
      }
    }
  } finally {
    for (const p of pools.values()) await p.close();
  }
  const pytorch =
    torchNote ??
    'torch (Debian python3-torch), OMP_NUM_THREADS=1 and 2 with OPENBLAS_NUM_THREADS=1, bmm and folded; the best is the reference';
  log(`pytorch: ${pytorch}`);
  const ratios: {
    backend: string;
    mode: string;
    P: number;
    ratio: number;
    pytorchBest: number;
    pytorchMode: string;
  }[] = [];
  for (const P of c.P) {
    const best = figures
      .filter((f) => f.P === P && f.backend === 'pytorch')
      .sort((a, b) => b.median - a.median)[0];
    if (!best) continue;
    for (const f of figures.filter((x) => x.P === P && x.backend !== 'pytorch'))
      ratios.push({
        backend: f.backend,
        mode: f.mode,
        P,
        ratio: f.median / best.median,
        pytorchBest: best.median,
        pytorchMode: best.mode,
      });
  }
  if (ratios.length) log('dynlab / PyTorch (best setting):');
  for (const r of ratios)
    log(
      `  P=${String(r.P).padStart(3)}  ${r.backend.padEnd(6)} ${r.mode.padEnd(10)} ${r.ratio.toFixed(2)}x  (PyTorch ${r.pytorchBest.toFixed(0)}, ${r.pytorchMode})`,
    );
  const out = path.join(repoRoot(), 'bench', 'results', 'engine.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const host = { cores: os.cpus().length, cpu, loadavg: os.loadavg(), node: process.version };
  const body = {
    when: new Date().toISOString(),
    config: c,
    flopsPerNetworkStep: flopsPerNetworkStep(c),
    host,
    backends,
    pytorch,
    figures,
    ratios,
  };
  fs.writeFileSync(out, JSON.stringify(body, null, 2) + '\n');
  log(`wrote ${out}`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
