/**
 * The thread team that splits a pass over several threads (csrc/team.h), compiled on its own with
 * ThreadSanitizer (g++ -fsanitize=thread) and run on test/team-stress.cc: any data race between
 * the caller and the members, a task run twice or never, or an exception that does not reach the
 * caller fails the test. (valgrind's memcheck, in native-sanitizer.test.ts, sees memory errors in
 * the threaded passes but not races.) Skipped, with the reason, where g++ cannot build with
 * ThreadSanitizer (g++ and its libtsan come with build-essential on Debian).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'dynlab-team-'));
const binary = join(dir, 'team-stress');
const build = spawnSync(
  process.env.CXX ?? 'g++',
  [
    '-std=c++17',
    '-O1',
    '-g',
    '-fsanitize=thread',
    `-I${join(root, 'csrc')}`,
    join(root, 'test', 'team-stress.cc'),
    join(root, 'csrc', 'team.cc'),
    '-o',
    binary,
    '-pthread',
  ],
  { encoding: 'utf8' },
);
const missing =
  build.error || build.status !== 0
    ? `g++ cannot build with -fsanitize=thread here: ${(build.error?.message ?? build.stderr).trim().split('\n')[0]}`
    : undefined;
if (missing) console.log(`# skipping the ThreadSanitizer run: ${missing}`);

test(
  'the thread team runs clean under ThreadSanitizer',
  { skip: missing, timeout: 120_000 },
  () => {
    try {
      const run = spawnSync(binary, [], {
        encoding: 'utf8',
        timeout: 110_000,
        env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1 exitcode=66' },
      });
      const report = `${run.stdout}\n${run.stderr}`;
      assert.doesNotMatch(run.stderr, /ThreadSanitizer/, report.slice(-6000));
      assert.match(run.stdout, /team ok/, report.slice(-3000));
      assert.equal(run.status, 0, report.slice(-3000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
