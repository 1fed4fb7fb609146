/**
 * Backend selection, once per thread. tfjs keeps one global engine per thread, so the choice is
 * thread state: the trainer runs one backend per worker thread (one tfjs-wasm instance per
 * thread is what scales on CPU, see PERFORMANCE-NOTES.md). The optional backends are loaded at run
 * time inside try/catch, so that a machine without them still builds and runs on wasm, and the
 * reason each one was not used is reported with the choice (and in the bench, and in metrics).
 *
 * Order for 'auto': tensorflow on a GPU (tfjs-node-gpu, where installed and a GPU is visible),
 * native (the BLAS addon), tensorflow on CPU (tfjs-node), wasm, cpu. `DYNLAB_BACKEND` overrides.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DynlabError, ErrorCode } from '@dynlab/core';
import { loadNative } from './native-module';
import type { PopulationProgramFactory } from './population-program';
import { createTfjsProgram } from './tfjs-program';

/** The backends the engine can run on. */
export type BackendName = 'tensorflow' | 'native' | 'wasm' | 'cpu';

/** The names a caller may ask for. */
export const backendNames: readonly BackendName[] = ['tensorflow', 'native', 'wasm', 'cpu'];

/** The backend in use and why the others were not used. */
export interface BackendInfo {
  name: BackendName;
  /** What exactly runs (library, version, SIMD, device). */
  detail: string;
  /** Why each other backend was not used. */
  unavailable: Partial<Record<BackendName, string>>;
}

interface Active {
  info: BackendInfo;
  factory: PopulationProgramFactory;
}

let active: Active | undefined;
const reasons: Partial<Record<BackendName, string>> = {};
const tfjsVersion = tf.version_core;

/** Loads a module whose name TypeScript must not resolve (an optional dependency). */
function optionalRequire(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

function firstLine(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return `${e?.code ? `${e.code}: ` : ''}${String(e?.message ?? err).split('\n')[0]}`;
}

/**
 * Why a tfjs-node flavour cannot load, found without loading it (loading registers a backend):
 * the package must resolve and its native binding (`lib/napi-vN/tfjs_binding.node`, fetched with
 * libtensorflow by its install script) must exist. Undefined when it looks loadable.
 */
function tfjsNodeProblem(pkg: string): string | undefined {
  let root: string;
  try {
    root = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg} is not installed`;
  }
  const lib = path.join(root, 'lib');
  const found =
    fs.existsSync(lib) &&
    fs.readdirSync(lib).some((d) => fs.existsSync(path.join(lib, d, 'tfjs_binding.node')));
  return found
    ? undefined
    : `${pkg}: its native binding lib/napi-vN/tfjs_binding.node is missing (the package's install downloads libtensorflow from the internet, which failed or was skipped)`;
}

/** Why neither tfjs-node flavour can run here, or undefined when one might. */
function tensorflowProblems(): string | undefined {
  const gpu = gpuVisible()
    ? tfjsNodeProblem('@tensorflow/tfjs-node-gpu')
    : 'tfjs-node-gpu: no GPU visible (/dev/nvidiactl missing)';
  const cpu = tfjsNodeProblem('@tensorflow/tfjs-node');
  return gpu && cpu ? `${gpu}; ${cpu}` : undefined;
}

function gpuVisible(): boolean {
  return fs.existsSync('/dev/nvidiactl') || fs.existsSync('/dev/nvidia0');
}

/** One thing to try: the tensorflow backend comes in a GPU and a CPU flavour, tried at different ranks. */
type Candidate = 'tensorflow-gpu' | 'native' | 'tensorflow-cpu' | 'wasm' | 'cpu';

function candidateName(c: Candidate): BackendName {
  return c === 'tensorflow-gpu' || c === 'tensorflow-cpu' ? 'tensorflow' : c;
}

/** Tries one candidate; returns what runs, or throws with the reason it cannot. */
async function tryCandidate(c: Candidate): Promise<Active> {
  const tfjs = (name: BackendName, detail: string): Active => ({
    info: { name, detail, unavailable: {} },
    factory: createTfjsProgram,
  });
  switch (c) {
    case 'native': {
      const load = loadNative();
      if (!load.module) throw new Error(load.reason);
      return {
        info: {
          name: 'native',
          detail: `@dynlab/native (${load.reason || 'BLAS addon'})`,
          unavailable: {},
        },
        factory: load.module.createNativeProgram,
      };
    }
    case 'tensorflow-gpu': {
      if (!gpuVisible()) throw new Error('tfjs-node-gpu: no GPU visible (/dev/nvidiactl missing)');
      const problem = tfjsNodeProblem('@tensorflow/tfjs-node-gpu');
      if (problem) throw new Error(problem);
      try {
        optionalRequire('@tensorflow/tfjs-node-gpu');
      } catch (err) {
        throw new Error(`tfjs-node-gpu: ${firstLine(err)}`);
      }
      await setTfjsBackend('tensorflow');
      return tfjs(
        'tensorflow',
        `@tensorflow/tfjs-node-gpu (libtensorflow, CUDA), tfjs ${tfjsVersion}`,
      );
    }
    case 'tensorflow-cpu': {
      const problem = tfjsNodeProblem('@tensorflow/tfjs-node');
      if (problem) throw new Error(problem);
      try {
        optionalRequire('@tensorflow/tfjs-node');
      } catch (err) {
        throw new Error(`tfjs-node: ${firstLine(err)}`);
      }
      await setTfjsBackend('tensorflow');
      return tfjs('tensorflow', `@tensorflow/tfjs-node (libtensorflow, CPU), tfjs ${tfjsVersion}`);
    }
    case 'wasm': {
      optionalRequire('@tensorflow/tfjs-backend-wasm');
      await setTfjsBackend('wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      return tfjs(
        'wasm',
        `@tensorflow/tfjs-backend-wasm ${tfjsVersion}, SIMD ${simd ? 'on' : 'off'}, 1 thread (XNNPACK)`,
      );
    }
    case 'cpu':
      optionalRequire('@tensorflow/tfjs-backend-cpu');
      await setTfjsBackend('cpu');
      return tfjs('cpu', `@tensorflow/tfjs-backend-cpu ${tfjsVersion} (plain JavaScript)`);
  }
}

async function setTfjsBackend(name: string): Promise<void> {
  // Production mode: no debug checks, and no console advice about tfjs-node on every start.
  if (!tf.env().getBool('PROD')) tf.enableProdMode();
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

function resolvePreference(preference: BackendName | 'auto'): BackendName | 'auto' {
  const env = process.env.DYNLAB_BACKEND;
  if (env === undefined || env === '') return preference;
  if (env === 'auto' || (backendNames as readonly string[]).includes(env))
    return env as BackendName | 'auto';
  throw new DynlabError(
    ErrorCode.Config,
    `DYNLAB_BACKEND must be one of auto, ${backendNames.join(', ')}; got '${env}'`,
  );
}

/**
 * Picks and initializes the backend for this thread (idempotent). 'auto' takes the first that works
 * of tensorflow-on-GPU, native, tensorflow, wasm, cpu, or keeps the backend this thread already
 * chose; a named backend that cannot run throws a DynlabError (code BACKEND) with the reason. Env
 * `DYNLAB_BACKEND` overrides the preference.
 * @default preference 'auto'
 */
export async function initBackend(preference: BackendName | 'auto' = 'auto'): Promise<BackendInfo> {
  return (await activate(preference)).info;
}

/** The backend and its program factory (for the runner). */
export async function activate(preference: BackendName | 'auto' = 'auto'): Promise<Active> {
  const want = resolvePreference(preference);
  if (active && (want === 'auto' || want === active.info.name)) {
    if (active.info.name !== 'native') await setTfjsBackend(active.info.name);
    return active;
  }
  const order: Candidate[] =
    want === 'auto'
      ? ['tensorflow-gpu', 'native', 'tensorflow-cpu', 'wasm', 'cpu']
      : want === 'tensorflow'
        ? ['tensorflow-gpu', 'tensorflow-cpu']
        : [want];
  const failed: Partial<Record<BackendName, string[]>> = {};
  for (const c of order) {
    const name = candidateName(c);
    try {
      const got = await tryCandidate(c);
      delete reasons[name];
      const unavailable: Partial<Record<BackendName, string>> = {};
      for (const other of backendNames) {
        if (other === name) continue;
        const tried = order.some((o) => candidateName(o) === other);
        const known =
          other === 'tensorflow'
            ? tensorflowProblems()
            : other === 'native' && !loadNative().module
              ? loadNative().reason
              : reasons[other];
        unavailable[other] =
          known ??
          (tried ? `not needed: ${name} comes first` : `not requested (asked for ${name})`);
      }
      active = { info: { ...got.info, unavailable }, factory: got.factory };
      return active;
    } catch (err) {
      (failed[name] ??= []).push(firstLine(err));
      reasons[name] = failed[name]!.join('; ');
    }
  }
  const names = [...new Set(order.map(candidateName))];
  throw new DynlabError(
    ErrorCode.Backend,
    `no usable backend (${names.map((n) => `${n}: ${reasons[n]}`).join('; ')})`,
    {
      details: Object.fromEntries(names.map((n) => [n, reasons[n] ?? ''])),
    },
  );
}
