/**
 * `pnpm --filter @dynlab/native bench`: the canonical workload on the native backend, next to
 * PyTorch in the same run, written to bench/results/native.json at the repository root.
 *
 * Workload (issue 9): D=100 features, N=1000 samples shared by the population, ReLU net with H=100
 * hidden units and biases, logistic loss, full-batch GD, 200 steps, the gradient share (with loss
 * and error) measured at every step; populations P=1, 16, 64; one and two worker threads, each
 * with its own addon and BLAS pinned to one thread (at P=1, which cannot be split over workers, one
 * worker whose BLAS has both cores instead, or whose program splits the samples of every pass over
 * two threads of its own, DYNLAB_NATIVE_THREADS=2, see csrc/team.h). Figures are network-steps per
 * second (P x steps / seconds of the slowest worker) over BENCH_REPS runs (default 5): their median,
 * which the ratios are taken on, and their best. Effective GFLOP/s counts 4NDH (the two large GEMMs)
 * + 8NH (the output layer, forward and backward) per network-step.
 * PyTorch (Debian's python3-torch, autograd, OpenBLAS) runs the same workload in two formulations
 * (bmm, folded matmul) with OMP_NUM_THREADS=1 and 2 (OPENBLAS_NUM_THREADS=1); the setting with the
 * highest median is the reference of the ratios (bench-stats.ts says why, and which other readings
 * are printed beside it). Each setting is one Python process (bench/torch_bench.py --serve), and
 * per population every repetition runs each PyTorch setting once and then each native
 * configuration once, so that both are measured in the same minutes of a possibly shared machine.
 * The SGEMM rate of the machine (1024^3, one thread per worker, one and two workers at once) and
 * of the two workload GEMM shapes in isolation say what is left between the figures and the
 * hardware. BENCH_TORCH=0 skips PyTorch; BENCH_TORCH_STEPS (default 50) sets its timed steps (its
 * rate is steady after two warm-up steps, and 200 steps at P=64 would take minutes).
 * PyTorch runs with the environment this process was started with and, where the native loader
 * sets a BLAS default (OPENBLAS_CORETYPE, see src/blas-defaults.ts; for one or for two BLAS threads),
 * with each such setting as well: all are candidates of its best setting, so that its OpenBLAS runs
 * on no weaker kernels than the native backend's.
 * The row whose BLAS has two threads runs each repetition in a child process started with
 * DYNLAB_BLAS_THREADS=2, as a lone program given both cores would be: the BLAS's kernels are chosen
 * once per process, at load, and this process loads it pinned to one thread.
 * `--row '{"population":64,"workers":2,"blasThreads":1,"threads":1}'` prints one configuration's
 * row (BENCH_REPS runs) as JSON, without PyTorch.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { defaultChunk, nativeStatus } from '../index';
import { loaderBlasDefaults } from '../native-addon';
import {
  bestOf,
  bestSetting,
  median,
  ratiosAgainst,
  type Ratios,
  type TorchCandidate,
} from './bench-stats';
import type { BenchJob, BenchReply } from './bench-worker';

const D = 100;
const N = 1000;
const H = 100;
const STEPS = 200;
const reps = Number(process.env.BENCH_REPS ?? 5);
const torchSteps = Number(process.env.BENCH_TORCH_STEPS ?? 50);
const flopsPerNetworkStep = 4 * N * D * H + 8 * N * H;
/** The environment as started, before the native loader sets its BLAS defaults in this process. */
const startEnv = { ...process.env };
const out =
  process.env.DYNLAB_BENCH_OUT ??
  join(__dirname, '..', '..', '..', '..', 'bench', 'results', 'native.json');

/** The machine's busy CPU seconds (/proc/stat), this process's CPU seconds, and the time. */
function cpuSnapshot(): { busy: number; own: number; at: bigint } {
  let busy = NaN;
  try {
    const f = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user, nice, system, irq, softirq, steal (not idle, iowait); in USER_HZ (100 per second).
    busy = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
  } catch {
    // Not Linux: unknown.
  }
  const u = process.cpuUsage();
  return { busy, own: (u.user + u.system) / 1e6, at: process.hrtime.bigint() };
}

/** Cores other processes kept busy on average since `s` (NaN where /proc/stat is not there). */
function foreignSince(s: ReturnType<typeof cpuSnapshot>): number {
  const now = cpuSnapshot();
  const wall = Number(now.at - s.at) / 1e9;
  return Math.max(0, now.busy - s.busy - (now.own - s.own)) / wall;
}

async function inWorkers(jobs: BenchJob[]): Promise<BenchReply[]> {
  const workers = jobs.map(
    (job) => new Worker(join(__dirname, 'bench-worker.js'), { workerData: job }),
  );
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => (w.once('message', resolve), w.once('error', reject))),
      ),
    );
    const replies = workers.map(
      (w) =>
        new Promise<BenchReply>(
          (resolve, reject) => (w.once('message', resolve), w.once('error', reject)),
        ),
    );
    workers.forEach((w) => w.postMessage('go'));
    return await Promise.all(replies);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

interface NativeRow {
  population: number;
  workers: number;
  blasThreads: number;
  /** Threads that split each pass of a worker's program (DYNLAB_NATIVE_THREADS). */
  threads: number;
  /** The median of the runs: the figure the ratios are taken on. */
  medianNetworkStepsPerSec: number;
  /** The best run. */
  networkStepsPerSec: number;
  runs: number[];
  /**
   * Per run, the CPU time other processes used while it ran, in cores (busy time of the whole
   * machine from /proc/stat minus this process's): above about 0.05, other work shared the cores.
   */
  foreignCores: number[];
  effectiveGflops: number;
  /**
   * Shares of the workers' time in the best run: in the GEMMs, in the optimizer update, and the
   * rest (fused passes, measurements, overhead). Thread-seconds: with DYNLAB_NATIVE_THREADS above
   * 1 the GEMMs and the total count every thread's time, the update (one thread) its own.
   */
  time: { gemm: number; update: number; fusedAndOther: number };
  /** GFLOP/s the GEMM calls ran at inside the workload, per thread calling them, in the best run. */
  gemmGflopsPerThread: number;
  /** One-minute load average after the row: above the worker count, other work shared the cores. */
  loadAverage: number;
}

/** A native configuration of the benchmark. */
interface Config {
  population: number;
  workers: number;
  blasThreads: number;
  threads: number;
}

/** One run of a configuration: its rate, the CPU other processes took, and its workers' profile. */
interface NativeRun {
  networkStepsPerSec: number;
  foreignCores: number;
  time: NativeRow['time'];
  gemmGflopsPerThread: number;
}

/** One run of `c` in worker threads of this process (whose BLAS is pinned to one thread). */
async function nativeRun(c: Config): Promise<NativeRun> {
  const share = Math.ceil(c.population / c.workers);
  const jobs: BenchJob[] = Array.from({ length: c.workers }, (_, w) => ({
    kind: 'train',
    population: Math.min(share, c.population - w * share),
    blasThreads: c.blasThreads,
    threads: c.threads,
    offset: w * share,
    samples: N,
    features: D,
    hidden: H,
    steps: STEPS,
  }));
  const before = cpuSnapshot();
  const replies = await inWorkers(jobs);
  const foreignCores = foreignSince(before);
  const total = replies.reduce((s, x) => s + x.profile!.totalSeconds, 0);
  const gemm = replies.reduce((s, x) => s + x.profile!.gemmSeconds, 0);
  const update = replies.reduce((s, x) => s + x.profile!.updateSeconds, 0);
  return {
    networkStepsPerSec: (c.population * STEPS) / Math.max(...replies.map((x) => x.seconds)),
    foreignCores,
    time: {
      gemm: gemm / total,
      update: update / total,
      fusedAndOther: (total - gemm - update) / total,
    },
    gemmGflopsPerThread: replies.reduce((s, x) => s + x.profile!.gemmFlops, 0) / gemm / 1e9,
  };
}

/**
 * One run of `c`: in a child process started with DYNLAB_BLAS_THREADS where the BLAS has more than
 * one thread (its kernels and threads are set once per process, at load), else in this process.
 */
async function runConfig(c: Config): Promise<NativeRun> {
  if (c.blasThreads <= 1) return nativeRun(c);
  const r = spawnSync(process.execPath, [__filename, '--run', JSON.stringify(c)], {
    encoding: 'utf8',
    env: { ...startEnv, DYNLAB_BLAS_THREADS: String(c.blasThreads) },
    timeout: 900_000,
  });
  if (r.status !== 0)
    throw new Error(`bench run in a child process failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]!) as NativeRun;
}

/** How a row compares with PyTorch, every reading (see bench-stats.ts). */
function describeRatios(r: Ratios): string {
  return `vs PyTorch's best setting: ${r.median.toFixed(2)}x median/median, ${r.best.toFixed(2)}x best/best, ${r.pairedMedian.toFixed(2)}x median per repetition; ${r.vsFastestRun.toFixed(2)}x against its fastest run of any setting`;
}

/** The row of `c` from its runs: the median and best rates; the best run's time split and GEMM rate. */
function rowOf(c: Config, runs: NativeRun[]): NativeRow {
  const best = runs.reduce((a, b) => (b.networkStepsPerSec > a.networkStepsPerSec ? b : a));
  return {
    ...c,
    medianNetworkStepsPerSec: median(runs.map((r) => r.networkStepsPerSec)),
    networkStepsPerSec: best.networkStepsPerSec,
    runs: runs.map((r) => r.networkStepsPerSec),
    foreignCores: runs.map((r) => r.foreignCores),
    effectiveGflops: (best.networkStepsPerSec * flopsPerNetworkStep) / 1e9,
    time: best.time,
    gemmGflopsPerThread: best.gemmGflopsPerThread,
    loadAverage: loadavg()[0]!,
  };
}

async function gemmGflops(
  m: number,
  n: number,
  k: number,
  transB: boolean,
  workers: number,
): Promise<number> {
  const job: BenchJob = {
    kind: 'gemm',
    population: 0,
    offset: 0,
    samples: N,
    features: D,
    hidden: H,
    steps: 0,
    gemm: { m, n, k, transB, reps: 5 },
  };
  const replies = await inWorkers(Array.from({ length: workers }, () => job));
  return replies.reduce((s, r) => s + (2 * m * n * k) / r.seconds / 1e9, 0);
}

interface TorchRun {
  threads: number;
  /** OPENBLAS_CORETYPE PyTorch ran with (null: the environment as started, which may not set it). */
  coreType: string | null;
  torch?: string;
  results?: {
    P: number;
    variant: string;
    networkStepsPerSec: number;
    byVariant: Record<string, number>;
  }[];
  error?: string;
}

/**
 * PyTorch's candidate OPENBLAS_CORETYPE settings: the environment as started (null), and every
 * default the native loader sets for one or two BLAS threads where the environment does not.
 */
function torchCoreTypes(): (string | null)[] {
  const chosen = ['1', '2'].map(
    (t) => loaderBlasDefaults({ ...startEnv, DYNLAB_BLAS_THREADS: t }).OPENBLAS_CORETYPE,
  );
  return [null, ...new Set(chosen.filter((c): c is string => c !== undefined))];
}

/**
 * A PyTorch process (bench/torch_bench.py --serve) with one thread and core-type setting, which
 * answers one request at a time, so that its runs can be interleaved with native's.
 */
class TorchServer {
  readonly run: TorchRun;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string | undefined) => void)[] = [];
  /** Set by `close()`: the process's exit is then expected, not an error of its run. */
  private closing = false;

  constructor(threads: number, coreType: string | null) {
    this.run = { threads, coreType, results: [] };
    const script = join(__dirname, '..', '..', 'bench', 'torch_bench.py');
    this.child = spawn('/usr/bin/python3', [script, '--serve'], {
      env: {
        ...startEnv,
        OMP_NUM_THREADS: String(threads),
        OPENBLAS_NUM_THREADS: '1',
        ...(coreType === null ? {} : { OPENBLAS_CORETYPE: coreType }),
      },
    });
    let stderr = '';
    this.child.stderr.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-2000)));
    createInterface({ input: this.child.stdout }).on('line', (line) =>
      this.waiting.shift()?.(line),
    );
    this.child.on('close', (code) => {
      if (!this.closing || code !== 0)
        this.run.error ??= stderr.trim().split('\n').slice(-1)[0] || 'PyTorch exited';
      this.waiting.splice(0).forEach((w) => w(undefined));
    });
  }

  private next(): Promise<string | undefined> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Waits for the process's first line (its version and threads). */
  async ready(): Promise<void> {
    const line = await this.next();
    if (line) Object.assign(this.run, JSON.parse(line) as { torch: string });
  }

  /** One run at `population` (the best of `runs` inside), recorded in `run.results`. */
  async measure(population: number, runs: number): Promise<number | undefined> {
    if (this.run.error) return undefined;
    const answer = this.next();
    this.child.stdin.write(`${population} ${runs} ${torchSteps}\n`);
    const line = await answer;
    if (!line) return undefined;
    const result = JSON.parse(line) as NonNullable<TorchRun['results']>[number];
    this.run.results!.push(result);
    return result.networkStepsPerSec;
  }

  close(): void {
    this.closing = true;
    this.child.stdin.end();
  }
}

async function main(): Promise<void> {
  const status = nativeStatus();
  if (!status.available) throw new Error(`native backend unavailable: ${status.reason}`);
  console.log(`native: ${status.reason}`);
  const startLoad = loadavg();
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, load average ${startLoad.map((l) => l.toFixed(2)).join(' ')}`,
  );
  if (startLoad[0]! > 0.5)
    console.log(
      'warning: other work is running; the ratios mean something only on an otherwise idle machine',
    );

  const skipTorch = process.env.BENCH_TORCH === '0';
  const torchAvailable =
    !skipTorch &&
    spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  const why = skipTorch
    ? 'skipped (BENCH_TORCH=0)'
    : '/usr/bin/python3 cannot import torch (apt-get install -y python3-torch libopenblas0-pthread)';
  const servers = torchAvailable
    ? torchCoreTypes().flatMap((coreType) => [1, 2].map((t) => new TorchServer(t, coreType)))
    : [];
  await Promise.all(servers.map((t) => t.ready()));
  const torch: TorchRun[] = torchAvailable
    ? servers.map((t) => t.run)
    : [{ threads: 0, coreType: null, error: why }];
  // Every PyTorch setting and formulation at population p, with its rate per repetition.
  const torchCandidates = (p: number): TorchCandidate[] =>
    torch.flatMap((t) => {
      const runs = t.results?.filter((r) => r.P === p) ?? [];
      const variants = [...new Set(runs.flatMap((r) => Object.keys(r.byVariant)))];
      return variants.map((variant) => ({
        threads: t.threads,
        coreType: t.coreType,
        variant,
        rates: runs.map((r) => r.byVariant[variant] ?? NaN),
      }));
    });

  // Per population, each repetition runs every PyTorch setting once and then every native
  // configuration once, so that both see the same state of the (possibly shared) machine.
  const rows: NativeRow[] = [];
  for (const population of [1, 16, 64]) {
    // A lone network cannot be split over workers; it may give the BLAS both cores instead, or
    // split its samples over two threads of its own (DYNLAB_NATIVE_THREADS=2).
    const configs: Config[] = (
      population === 1
        ? [
            [1, 1, 1],
            [1, 2, 1],
            [1, 1, 2],
          ]
        : [
            [1, 1, 1],
            [2, 1, 1],
          ]
    ).map(([workers, blasThreads, threads]) => ({
      population,
      workers: workers!,
      blasThreads: blasThreads!,
      threads: threads!,
    }));
    const runs = configs.map((): NativeRun[] => []);
    for (let r = 0; r < reps; r++) {
      for (const server of servers) await server.measure(population, 1);
      for (const [i, c] of configs.entries()) runs[i]!.push(await runConfig(c));
    }
    const candidates = torchCandidates(population);
    for (const t of torch.filter((t) => t.error))
      console.log(
        `pytorch ${t.threads} thread(s), OPENBLAS_CORETYPE ${t.coreType ?? 'as started'}: ${t.error}`,
      );
    for (const t of candidates)
      console.log(
        `pytorch P=${population} ${t.threads} thread(s), OPENBLAS_CORETYPE ${t.coreType ?? `as started (${startEnv.OPENBLAS_CORETYPE ?? 'unset'})`}, ${t.variant}: median ${median(t.rates).toFixed(0)} network-steps/s (runs ${t.rates.map((x) => x.toFixed(0)).join(' ')})`,
      );
    configs.forEach((c, i) => {
      const row = rowOf(c, runs[i]!);
      rows.push(row);
      const ratios = ratiosAgainst(row.runs, candidates);
      console.log(
        `native P=${population} workers=${c.workers} BLAS threads=${c.blasThreads} threads=${c.threads}: median ${row.medianNetworkStepsPerSec.toFixed(0)}, best ${row.networkStepsPerSec.toFixed(0)} network-steps/s (runs ${row.runs.map((x) => x.toFixed(0)).join(' ')}), best ${row.effectiveGflops.toFixed(1)} GFLOP/s` +
          ` (GEMM ${(100 * row.time.gemm).toFixed(0)}% at ${row.gemmGflopsPerThread.toFixed(1)} GFLOP/s per thread, update ${(100 * row.time.update).toFixed(0)}%, fused+other ${(100 * row.time.fusedAndOther).toFixed(0)}%)` +
          (ratios ? `, ${describeRatios(ratios)}` : ''),
      );
    });
  }
  servers.forEach((t) => t.close());

  const chunk = defaultChunk([D, H, 1], N);
  const peak = {
    sgemm1024OneWorker: await gemmGflops(1024, 1024, 1024, false, 1),
    sgemm1024TwoWorkers: await gemmGflops(1024, 1024, 1024, false, 2),
    forwardShapeOneWorker: await gemmGflops(chunk * H, N, D, true, 1),
    gradientShapeOneWorker: await gemmGflops(chunk * H, D, N, false, 1),
  };
  console.log(
    `SGEMM GFLOP/s: 1024^3 ${peak.sgemm1024OneWorker.toFixed(1)} (1 worker), ${peak.sgemm1024TwoWorkers.toFixed(1)} (2 workers); workload shapes [${chunk * H}x${D}]x[${D}x${N}] ${peak.forwardShapeOneWorker.toFixed(1)}, [${chunk * H}x${N}]x[${N}x${D}] ${peak.gradientShapeOneWorker.toFixed(1)}`,
  );

  const pytorchBest = [1, 16, 64].map((population) => {
    const candidates = torchCandidates(population);
    const best = bestSetting(candidates);
    if (!best) return { population };
    const fastestRun = bestOf(candidates.flatMap((c) => c.rates));
    console.log(
      `pytorch best setting P=${population}: median ${median(best.rates).toFixed(0)}, best ${bestOf(best.rates).toFixed(0)} network-steps/s (${best.threads} thread(s), OPENBLAS_CORETYPE ${best.coreType ?? 'as started'}, ${best.variant}); fastest run of any setting ${fastestRun.toFixed(0)}`,
    );
    return {
      population,
      ...best,
      medianNetworkStepsPerSec: median(best.rates),
      /** The best setting's best run (before the median reading: PyTorch's fastest run of any setting). */
      networkStepsPerSec: bestOf(best.rates),
      fastestRunOfAnySetting: fastestRun,
    };
  });
  const ratios = rows.map((r) => ({
    population: r.population,
    workers: r.workers,
    blasThreads: r.blasThreads,
    threads: r.threads,
    vsPytorch: ratiosAgainst(r.runs, torchCandidates(r.population)),
  }));
  const targets = [
    { what: 'P=64, 2 workers >= 4x PyTorch', population: 64, workers: 2, want: 4 },
    { what: 'P=16, 2 workers >= 3.5x PyTorch', population: 16, workers: 2, want: 3.5 },
    {
      what: 'P=1, 1 worker (BLAS on 1 or 2 threads, or the samples split over 2 threads: the best) >= 2x PyTorch',
      population: 1,
      workers: 1,
      want: 2,
    },
  ].map((t) => {
    // The configuration with the highest median ratio stands for the row (at P=1: the best way
    // of giving a lone network both cores).
    const chosen = ratios
      .filter((r) => r.population === t.population && r.workers === t.workers && r.vsPytorch)
      .sort((a, b) => b.vsPytorch!.median - a.vsPytorch!.median)[0];
    const got = chosen ? chosen.vsPytorch!.median : null;
    return {
      ...t,
      got,
      readings: chosen?.vsPytorch ?? null,
      met: got === null ? null : got >= t.want,
    };
  });
  targets.forEach((t) =>
    console.log(
      `target ${t.what}: ${t.readings === null ? 'no PyTorch figure' : `${t.readings.median.toFixed(2)}x (medians) ${t.met ? 'met' : 'NOT met'}; ${describeRatios(t.readings)}`}`,
    ),
  );
  console.log(
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (PyTorch and native run one after the other: compare runs where it stayed low)`,
  );

  const result = {
    benchmark: 'native',
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      loadAverageAtStart: startLoad,
      loadAverageAtEnd: loadavg(),
    },
    blas: status.reason,
    workload: {
      features: D,
      samples: N,
      hidden: H,
      steps: STEPS,
      loss: 'logistic',
      optimizer: 'gd',
      recorded: ['loss', 'error', 'gradShare'],
      every: 1,
      chunk,
      flopsPerNetworkStep,
    },
    native: rows,
    pytorch: torch,
    pytorchBest,
    peakGflops: peak,
    ratios,
    targets,
  };
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

/** `--row CONFIG`: one configuration's row from BENCH_REPS runs; `--run CONFIG`: one run. */
async function single(mode: string, config: string): Promise<void> {
  const c = { threads: 1, ...(JSON.parse(config) as Partial<Config>) } as Config;
  if (mode === '--run') {
    console.log(JSON.stringify(await nativeRun(c)));
    return;
  }
  const runs: NativeRun[] = [];
  for (let r = 0; r < reps; r++) runs.push(await runConfig(c));
  console.log(JSON.stringify(rowOf(c, runs)));
}

const mode = process.argv[2];
(mode === '--row' || mode === '--run' ? single(mode, process.argv[3]!) : main()).catch(
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
