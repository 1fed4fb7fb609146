#!/usr/bin/env node
// Runs every package's and service's compiled tests (dist/**/*.test.js) in one `node --test`
// run, so CI prints one summary. Extra arguments are passed to node --test (for example
// --test-name-pattern=starvation).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return testFiles(p);
    return name.endsWith('.test.js') ? [p] : [];
  });
}

const files = ['packages', 'services'].flatMap((top) =>
  existsSync(join(root, top))
    ? readdirSync(join(root, top)).flatMap((pkg) => testFiles(join(root, top, pkg, 'dist')))
    : [],
);
if (files.length === 0) {
  console.error('no compiled tests found: run the build first (npm test does it)');
  process.exit(1);
}
console.log(`running ${files.length} test files`);
const args = [
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=2',
  '--test-timeout=600000',
  ...process.argv.slice(2),
  ...files.map((f) => relative(root, f)),
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
