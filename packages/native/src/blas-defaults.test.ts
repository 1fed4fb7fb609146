/**
 * The BLAS environment defaults: OPENBLAS_CORETYPE defaults to the best core the CPU's flags
 * support where OpenBLAS (DYNAMIC_ARCH) picked a narrower one (an unknown CPU falling back to
 * Prescott), with one or two BLAS threads; to Haswell where the core in effect is an AVX-512 one on
 * an AMD CPU with one BLAS thread; never where the user set it. And that the loader's setting reaches
 * the BLAS from a worker thread, where process.env is a copy native code never sees.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { blasEnvDefaults, pickedCore } from './blas-defaults';
import { buildDir } from './native-addon';

const openblasOn = (core: string) =>
  `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY ${core} MAX_THREADS=64 (core ${core})`;
const openblas = openblasOn('Cooperlake');
const avx512 = 'avx2 fma avx avx512f avx512cd avx512bw avx512dq avx512vl';
const cpu = (vendor: string, flags: string) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: 6\nflags\t\t: fpu sse sse2 ssse3 ${flags}\n`;
const zen4 = cpu('AuthenticAMD', avx512);
const zen3 = cpu('AuthenticAMD', 'avx avx2 fma');
const intel = cpu('GenuineIntel', avx512);
/** The development machine of this session: Intel family 6 model 207, flags as its /proc/cpuinfo. */
const emeraldRapids = cpu(
  'GenuineIntel',
  'fma avx avx2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx_vnni avx512_bf16 amx_bf16 avx512_fp16 amx_tile amx_int8',
);
const avx2Intel = cpu('GenuineIntel', 'avx avx2 fma');
const avxOnly = cpu('GenuineIntel', 'avx');
const sseOnly = cpu('GenuineIntel', 'sse4_2');

test('pickedCore reads the core from the BLAS description', () => {
  assert.equal(pickedCore(openblasOn('Prescott')), 'Prescott');
  assert.equal(pickedCore('OpenBLAS 0.3.21 DYNAMIC_ARCH'), undefined);
  assert.equal(pickedCore(undefined), undefined);
});

test('an unknown CPU that OpenBLAS runs on a narrower core gets the best core its flags support, on one or two BLAS threads', () => {
  for (const threads of [{}, { DYNLAB_BLAS_THREADS: '1' }, { DYNLAB_BLAS_THREADS: '2' }]) {
    const why = JSON.stringify(threads);
    for (const fallback of ['Prescott', 'Core2', 'Nehalem', 'Sandybridge', 'Haswell'])
      assert.deepEqual(
        blasEnvDefaults(openblasOn(fallback), emeraldRapids, threads),
        { OPENBLAS_CORETYPE: 'SkylakeX' },
        `${fallback} ${why}`,
      );
    assert.deepEqual(blasEnvDefaults(openblasOn('Prescott'), intel, threads), {
      OPENBLAS_CORETYPE: 'SkylakeX',
    });
    assert.deepEqual(
      blasEnvDefaults(openblasOn('Prescott'), avx2Intel, threads),
      { OPENBLAS_CORETYPE: 'Haswell' },
      why,
    );
    assert.deepEqual(
      blasEnvDefaults(openblasOn('Nehalem'), avxOnly, threads),
      { OPENBLAS_CORETYPE: 'Sandybridge' },
      why,
    );
    // An AMD CPU without AVX-512 that OpenBLAS does not know.
    assert.deepEqual(blasEnvDefaults(openblasOn('Prescott'), zen3, threads), {
      OPENBLAS_CORETYPE: 'Haswell',
    });
  }
  // AVX-512 needs all five of F, CD, BW, DQ, VL; without one, the next tier down.
  assert.deepEqual(blasEnvDefaults(openblasOn('Prescott'), intel.replace(' avx512vl', ''), {}), {
    OPENBLAS_CORETYPE: 'Haswell',
  });
  // AVX2 without FMA is not enough for the Haswell kernels.
  assert.deepEqual(blasEnvDefaults(openblasOn('Prescott'), cpu('GenuineIntel', 'avx avx2'), {}), {
    OPENBLAS_CORETYPE: 'Sandybridge',
  });
});

test('an AMD CPU with AVX-512 gets Haswell on one BLAS thread, the AVX-512 core on two', () => {
  for (const core of ['Cooperlake', 'SkylakeX', 'SapphireRapids']) {
    assert.deepEqual(blasEnvDefaults(openblasOn(core), zen4, {}), { OPENBLAS_CORETYPE: 'Haswell' });
    assert.deepEqual(blasEnvDefaults(openblasOn(core), zen4, { DYNLAB_BLAS_THREADS: '1' }), {
      OPENBLAS_CORETYPE: 'Haswell',
    });
    assert.deepEqual(blasEnvDefaults(openblasOn(core), zen4, { DYNLAB_BLAS_THREADS: '2' }), {});
  }
  // An AMD CPU with AVX-512 that OpenBLAS does not know (it falls back): both rules apply.
  assert.deepEqual(blasEnvDefaults(openblasOn('Prescott'), zen4, {}), {
    OPENBLAS_CORETYPE: 'Haswell',
  });
  assert.deepEqual(blasEnvDefaults(openblasOn('Prescott'), zen4, { DYNLAB_BLAS_THREADS: '2' }), {
    OPENBLAS_CORETYPE: 'SkylakeX',
  });
  // An older OpenBLAS that runs Zen 4 on its Zen (AVX2) core: Haswell on one thread, AVX-512 on two.
  assert.deepEqual(blasEnvDefaults(openblasOn('Zen'), zen4, {}), { OPENBLAS_CORETYPE: 'Haswell' });
  assert.deepEqual(blasEnvDefaults(openblasOn('Zen'), zen4, { DYNLAB_BLAS_THREADS: '2' }), {
    OPENBLAS_CORETYPE: 'SkylakeX',
  });
});

test('nothing is set where the user chose, where OpenBLAS picked the best core itself, or for another BLAS', () => {
  for (const [why, blas, cpuText, env] of [
    ['the user set it', openblasOn('Prescott'), emeraldRapids, { OPENBLAS_CORETYPE: 'Haswell' }],
    ['the user set it on AMD', openblas, zen4, { OPENBLAS_CORETYPE: 'SkylakeX' }],
    ['the user set it empty', openblasOn('Prescott'), emeraldRapids, { OPENBLAS_CORETYPE: '' }],
    ['an Intel CPU on its AVX-512 core', openblas, intel, {}],
    [
      'an Intel CPU on SkylakeX, two threads',
      openblasOn('SkylakeX'),
      emeraldRapids,
      { DYNLAB_BLAS_THREADS: '2' },
    ],
    ['an AVX2 Intel CPU on Haswell', openblasOn('Haswell'), avx2Intel, {}],
    ['an AMD CPU without AVX-512 on Zen', openblasOn('Zen'), zen3, {}],
    ['a CPU without AVX on Prescott', openblasOn('Prescott'), sseOnly, {}],
    ['a core the table does not know', openblasOn('NeoverseN1'), emeraldRapids, {}],
    ['not OpenBLAS', '', emeraldRapids, {}],
    ['unknown BLAS', undefined, emeraldRapids, {}],
    ['BLIS', 'BLIS 0.9.0 (core Prescott)', emeraldRapids, {}],
    [
      'OpenBLAS without DYNAMIC_ARCH',
      openblasOn('Prescott').replace('DYNAMIC_ARCH ', ''),
      emeraldRapids,
      {},
    ],
    ['no core in the description', 'OpenBLAS 0.3.21 DYNAMIC_ARCH', emeraldRapids, {}],
    ['no cpuinfo', openblasOn('Prescott'), '', {}],
    ['no cpuinfo, AVX-512 core', openblas, '', {}],
  ] as const)
    assert.deepEqual(blasEnvDefaults(blas, cpuText, env), {}, why);
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
    const two = { ...env, DYNLAB_BLAS_THREADS: '2' };
    assert.equal(
      coreInWorker(two),
      blasEnvDefaults(status.blas, cpuinfo, two).OPENBLAS_CORETYPE ?? picked,
    );
  },
);
