/**
 * Runs the sanitizer workload under valgrind's memcheck: any invalid read or write, use of an
 * uninitialised value, or definitely lost block fails the test (`--error-exitcode=1`, leaks of
 * kind "definite" counted as errors). Node's own noise is suppressed by valgrind-node.supp (V8's
 * conservative stack scan during garbage collection, nothing else); `--jitless` keeps V8's JIT out
 * of the way and the run near 15 s. Valgrind 3.19 cannot run AVX-512 code (it raises SIGILL on the
 * first EVEX instruction), while the loader reads the CPU's flags from /proc/cpuinfo, not from
 * valgrind's emulated CPU, and may default OpenBLAS to its AVX-512 kernels (src/blas-defaults.ts);
 * so the run names OpenBLAS's Haswell (AVX2) kernels itself, which valgrind does run.
 * Skipped, with the reason printed, where valgrind is not installed (apt-get install -y valgrind).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const valgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
const missing =
  valgrind.error || valgrind.status !== 0
    ? 'valgrind is not installed (apt-get install -y valgrind)'
    : undefined;
if (missing) console.log(`# skipping the sanitizer run: ${missing}`);

test('the addon runs clean under valgrind memcheck', { skip: missing, timeout: 110_000 }, () => {
  const run = spawnSync(
    'valgrind',
    [
      '--error-exitcode=1',
      '--leak-check=full',
      '--errors-for-leak-kinds=definite',
      `--suppressions=${join(__dirname, '..', 'valgrind-node.supp')}`,
      process.execPath,
      '--jitless',
      '--expose-gc',
      join(__dirname, 'sanitizer-workload.js'),
    ],
    {
      encoding: 'utf8',
      timeout: 105_000,
      env: { ...process.env, OPENBLAS_CORETYPE: 'Haswell' },
    },
  );
  const report = `${run.stdout}\n${run.stderr}`;
  assert.match(
    run.stdout,
    /sanitizer workload done: losses [\d.]+, refused 2/,
    report.slice(-3000),
  );
  assert.match(run.stderr, /ERROR SUMMARY: 0 errors/, report.slice(-6000));
  assert.match(run.stderr, /definitely lost: 0 bytes/, report.slice(-6000));
  assert.equal(run.status, 0, report.slice(-6000));
});
