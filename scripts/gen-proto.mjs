#!/usr/bin/env node
// Generates the protobufjs static module and its .d.ts from proto/dynlab/v1/*.proto into
// packages/proto/generated/. The only place generated code comes from; it is never edited by hand
// and never committed. Skips work when the output is newer than every .proto file.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'proto', 'dynlab', 'v1');
const outDir = join(root, 'packages', 'proto', 'generated');
const js = join(outDir, 'dynlab.js');
const dts = join(outDir, 'dynlab.d.ts');
const bin = join(root, 'packages', 'proto', 'node_modules', '.bin');
const sources = readdirSync(protoDir)
  .filter((f) => f.endsWith('.proto'))
  .sort()
  .map((f) => join(protoDir, f));
const newest = Math.max(
  ...sources.map((f) => statSync(f).mtimeMs),
  statSync(fileURLToPath(import.meta.url)).mtimeMs,
);

if (
  existsSync(js) &&
  existsSync(dts) &&
  statSync(dts).mtimeMs >= newest &&
  statSync(js).mtimeMs >= newest
) {
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
const rel = sources.map((f) => f.slice(join(root, 'proto').length + 1));
execFileSync(
  join(bin, 'pbjs'),
  [
    '-t',
    'static-module',
    '-w',
    'commonjs',
    '--force-number',
    '--no-beautify',
    '-p',
    join(root, 'proto'),
    '-o',
    js,
    ...sources,
  ],
  { stdio: 'inherit', cwd: join(root, 'proto') },
);
execFileSync(join(bin, 'pbts'), ['--no-comments', '-o', dts, js], { stdio: 'inherit' });
console.log(`generated ${rel.length} proto files -> packages/proto/generated/`);
