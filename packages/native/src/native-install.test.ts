/**
 * The install script never fails the install: where the addon cannot be built (no BLAS to link,
 * no compiler) it exits 0, writes the reason to build/status.json, and `nativeStatus()` reports
 * that reason. Each case builds a copy of the package in a temporary folder, so the real build is
 * left alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..');

function copyPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-native-install-'));
  for (const entry of ['binding.gyp', 'csrc', 'scripts', 'dist', 'package.json'])
    cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function installIn(dir: string, env: Record<string, string>) {
  const run = spawnSync(process.execPath, [join(dir, 'scripts', 'install.js')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  const status = JSON.parse(readFileSync(join(dir, 'build', 'status.json'), 'utf8')) as {
    available: boolean;
    reason: string;
  };
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `console.log(JSON.stringify(require(${JSON.stringify(join(dir, 'dist', 'index.js'))}).nativeStatus()))`,
    ],
    { encoding: 'utf8' },
  );
  return {
    code: run.status,
    status,
    reported: JSON.parse(probe.stdout) as { available: boolean; reason: string },
  };
}

for (const [what, env, expected] of [
  [
    'no BLAS library to link',
    { DYNLAB_BLAS_LIBS: '-ldynlab_no_such_blas' },
    /-ldynlab_no_such_blas/,
  ],
  ['no C++ compiler', { CXX: '/nonexistent/c++', CC: '/nonexistent/cc' }, /compiler/],
  ['a skipped build', { DYNLAB_NATIVE_SKIP: '1' }, /skipped/],
] as const)
  test(`the install succeeds and the reason is reported with ${what}`, { timeout: 120_000 }, () => {
    const dir = copyPackage();
    try {
      const r = installIn(dir, env);
      assert.equal(r.code, 0);
      assert.equal(r.status.available, false);
      assert.match(r.status.reason, expected);
      assert.deepEqual(r.reported, { available: false, reason: r.status.reason });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
