/**
 * Loads the compiled addon once per thread and says whether it can run here, and why not.
 *
 * Why it never throws: the addon is optional (it needs a compiler and a BLAS at install time and the
 * BLAS at run time), and the engine probes it inside try/catch before choosing a backend, so every
 * failure becomes a reason string: the build's own reason from `build/status.json` when the
 * install could not build it, or the loader's error (`ERR_DLOPEN_FAILED` when the BLAS is missing).
 * On load the BLAS is pinned to one thread (`DYNLAB_BLAS_THREADS` overrides): each worker thread
 * runs its own population, and a threaded BLAS inside each worker oversubscribes the cores. It is
 * pinned through the BLAS's own thread setter (see csrc/blas-threads.h), not by setting
 * OPENBLAS_NUM_THREADS before the load: that would also cap every later setting (a lone program
 * given both cores), since OpenBLAS sizes its thread pool once, at load. A BLAS without a known
 * setter takes its usual environment variables from whoever starts the process. Before the load,
 * the BLAS's environment defaults (src/blas-defaults.ts: OPENBLAS_CORETYPE where OpenBLAS picked a
 * core narrower than the CPU supports, or its AVX-512 kernels on an AMD CPU with one BLAS thread)
 * are set through dynlab_env.node, where the user has not set them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blasEnvDefaults, pickedCore } from './blas-defaults';

/** The raw population object of the addon (see csrc/addon.cc); every call checks its arguments again. */
export interface AddonPopulation {
  advance(count: number): void;
  measure(outputs: Record<string, Float32Array>): void;
  divergedAt(out: Int32Array): void;
  readParams(layer: number, weights: Float32Array, biases: Float32Array): void;
  stepsDone(): number;
  bytes(): number;
  /** Slices the samples of a full-batch pass are split into, one per thread (see csrc/team.h). */
  lanes(): number;
  /** Where the time of advance() and measure() went since construction or the last reset. */
  profile(): NativeProfile;
  resetProfile(): void;
  dispose(): void;
}

/** Time spent by a population: in total, in GEMM calls (with their 2mnk flops) and in the optimizer update. */
export interface NativeProfile {
  totalSeconds: number;
  gemmSeconds: number;
  updateSeconds: number;
  gemmFlops: number;
}

/** What the compiled addon exports. */
export interface Addon {
  Population: new (
    config: Record<string, unknown>,
    arrays: Record<string, unknown>,
  ) => AddonPopulation;
  setBlasThreads(threads: number): string;
  blasConfig(): string;
  /** Native bytes held by the populations alive in this process (every thread), for leak checks. */
  liveBytes(): number;
  /** Seconds per call of one SGEMM shape (best of `reps`), on the BLAS and threads the addon uses. */
  gemmSeconds(m: number, n: number, k: number, transB: boolean, reps: number): number;
  /** Writes the rows of step `step`'s minibatch (`batchSize` of them) into `out`, as the addon draws them. */
  batchRows(seed: number, samples: number, batchSize: number, step: number, out: Int32Array): void;
  /** Rows of the per-trial hyperparameter matrix the constructor expects. */
  hyperRows: number;
}

/** Where the install script puts the addon and its status file. */
export const buildDir = join(__dirname, '..', 'build');

interface Loaded {
  addon?: Addon;
  reason: string;
}
let loaded: Loaded | undefined;

/** What the install script wrote to build/status.json (see scripts/install.js). */
interface BuildStatus {
  available?: boolean;
  reason?: string;
  /** The BLAS's own description at build time, with the kernels it picked by itself. */
  blas?: string;
}

function buildStatus(): BuildStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(buildDir, 'status.json'), 'utf8')) as BuildStatus;
  } catch {
    return undefined;
  }
}

function buildReason(): string | undefined {
  const status = buildStatus();
  return status?.available === false ? status.reason : undefined;
}

/**
 * The BLAS environment defaults (blas-defaults.ts) the loader sets in a process started with `env`:
 * from the BLAS the install recorded and this machine's /proc/cpuinfo. The benchmark hands them to
 * PyTorch as one of its candidate settings.
 */
export function loaderBlasDefaults(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: no defaults.
  }
  return blasEnvDefaults(buildStatus()?.blas, cpuinfo, env);
}

/**
 * Sets the BLAS's environment defaults (blas-defaults.ts) that the user has not set, natively:
 * from a worker thread, process.env would not reach the BLAS. Returns a note for the status line.
 */
function setBlasDefaults(): string {
  const defaults = loaderBlasDefaults(process.env);
  const envAddon = join(buildDir, 'Release', 'dynlab_env.node');
  if (Object.keys(defaults).length === 0 || !existsSync(envAddon)) return '';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { setDefault } = require(envAddon) as { setDefault(name: string, value: string): string };
    const set = Object.entries(defaults).filter(
      ([name, value]) => setDefault(name, value) === value,
    );
    return set.length
      ? `; ${set.map(([name, value]) => `${name}=${value}`).join(' ')} by default (OpenBLAS picked ${pickedCore(buildStatus()?.blas)} by itself, with slower SGEMM on this CPU; set it to choose)`
      : '';
  } catch {
    return '';
  }
}

/** The addon, loaded and BLAS-pinned on first use in this thread, or the reason it is not there. */
export function loadAddon(): Loaded {
  if (loaded) return loaded;
  const file = join(buildDir, 'Release', 'dynlab_native.node');
  if (!existsSync(file)) {
    loaded = {
      reason:
        buildReason() ??
        `the addon was not built (${file} is missing; run pnpm --filter @dynlab/native build:addon)`,
    };
    return loaded;
  }
  try {
    const defaults = setBlasDefaults();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file) as Addon;
    const threads = Number(process.env.DYNLAB_BLAS_THREADS ?? 1);
    const setter = addon.setBlasThreads(Number.isInteger(threads) && threads >= 1 ? threads : 1);
    const blas = addon.blasConfig() || 'CBLAS';
    loaded = {
      addon,
      reason: `${blas}; BLAS threads set by ${setter || 'the environment'}${defaults}`,
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    loaded = {
      reason: `the addon cannot be loaded: ${e.code ? `${e.code}: ` : ''}${String(e.message).split('\n')[0]}`,
    };
  }
  return loaded;
}

/** Whether the native backend can run here, and why not (or which BLAS it runs on). */
export function nativeStatus(): { available: boolean; reason: string } {
  const l = loadAddon();
  return { available: l.addon !== undefined, reason: l.reason };
}
