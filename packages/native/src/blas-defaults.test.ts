/**
 * The BLAS environment defaults: when OPENBLAS_CORETYPE defaults to Haswell (OpenBLAS with
 * DYNAMIC_ARCH choosing an Intel AVX-512 core on an AMD CPU with AVX-512, one BLAS thread, the user
 * not having set it), and that the loader's setting reaches the BLAS from a worker thread, where process.env is a
 * copy native code never sees, while a user's setting wins.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { blasEnvDefaults } from './blas-defaults';
import { buildDir } from './native-addon';

const openblas =
  'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64 (core Cooperlake)';
const zen4 = 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 fma avx512f avx512bw\n';
const zen3 = 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 fma\n';
const intel = 'vendor_id\t: GenuineIntel\nflags\t\t: fpu sse avx2 fma avx512f avx512bw\n';

test('OPENBLAS_CORETYPE defaults to Haswell only for OpenBLAS AVX-512 kernels on an AMD CPU with AVX-512, unless set', () => {
  assert.deepEqual(blasEnvDefaults(openblas, zen4, {}), { OPENBLAS_CORETYPE: 'Haswell' });
  assert.deepEqual(blasEnvDefaults(openblas, zen4, { DYNLAB_BLAS_THREADS: '1' }), {
    OPENBLAS_CORETYPE: 'Haswell',
  });
  assert.deepEqual(blasEnvDefaults(openblas.replace(/Cooperlake/g, 'SkylakeX'), zen4, {}), {
    OPENBLAS_CORETYPE: 'Haswell',
  });
  for (const [why, blas, cpu, env] of [
    ['the user set it', openblas, zen4, { OPENBLAS_CORETYPE: 'SkylakeX' }],
    ['the user set it empty', openblas, zen4, { OPENBLAS_CORETYPE: '' }],
    ['two BLAS threads at load', openblas, zen4, { DYNLAB_BLAS_THREADS: '2' }],
    ['an Intel CPU', openblas, intel, {}],
    ['no AVX-512', openblas.replace(/Cooperlake/g, 'Zen'), zen3, {}],
    ['OpenBLAS picked a Zen core', openblas.replace(/Cooperlake/g, 'Zen'), zen4, {}],
    ['not OpenBLAS', '', zen4, {}],
    ['unknown BLAS', undefined, zen4, {}],
    ['OpenBLAS without DYNAMIC_ARCH', openblas.replace('DYNAMIC_ARCH ', ''), zen4, {}],
    ['no cpuinfo', openblas, '', {}],
  ] as const)
    assert.deepEqual(blasEnvDefaults(blas, cpu, env), {}, why);
});

/** The core OpenBLAS runs on when the addon is loaded in a worker thread of a fresh process. */
function coreInWorker(env: Record<string, string | undefined>): string {
  const script = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const { parentPort } = require('node:worker_threads');
      parentPort.postMessage(require(${JSON.stringify(join(__dirname, 'index.js'))}).nativeStatus().reason);
    \`, { eval: true });
    w.once('message', (m) => { console.log(m); process.exit(0); });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
  assert.equal(run.status, 0, run.stderr);
  return /\(core (\w+)\)/.exec(run.stdout)?.[1] ?? `no core in: ${run.stdout}`;
}

const status = JSON.parse(readFileSync(join(buildDir, 'status.json'), 'utf8')) as {
  blas?: string;
};
const cpuinfo = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
})();
const dynamic = /^OpenBLAS\b.*\bDYNAMIC_ARCH\b/.test(status.blas ?? '');

test(
  "the loader's default reaches OpenBLAS from a worker thread, and the user's setting wins",
  { skip: dynamic ? false : `the addon's BLAS is not OpenBLAS with DYNAMIC_ARCH (${status.blas})` },
  () => {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    const picked = /\(core (\w+)\)/.exec(status.blas!)?.[1];
    const expected = blasEnvDefaults(status.blas, cpuinfo, env).OPENBLAS_CORETYPE ?? picked;
    assert.equal(coreInWorker(env), expected);
    assert.equal(coreInWorker({ ...env, OPENBLAS_CORETYPE: 'Sandybridge' }), 'Sandybridge');
    assert.equal(coreInWorker({ ...env, DYNLAB_BLAS_THREADS: '2' }), picked);
  },
);
