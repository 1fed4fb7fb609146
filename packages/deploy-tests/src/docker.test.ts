import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployDir, repoRoot } from './repo-paths';

// Docker does not run here, so the Dockerfiles are read as text: what they copy must exist, every
// build argument must be documented in the header, the final stage must not run as root, and the
// GPU variant must install the tfjs-node-gpu that matches the engine's tfjs-core.

interface Instruction {
  op: string;
  args: string;
}

function instructions(file: string): Instruction[] {
  const text = readFileSync(join(deployDir, 'docker', file), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
  test(`${file}: copies only files of the repository, documents every build argument, runs as a user`, () => {
    const ins = instructions(file);
    const header = readFileSync(join(deployDir, 'docker', file), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .join('\n');
    for (const { args } of ins.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
      const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1))
        assert.ok(src === '.' || existsSync(join(repoRoot, src)), `${file}: COPY ${src}`);
    }
    const argNames = new Set(ins.filter((i) => i.op === 'ARG').map((i) => i.args.split('=')[0]!));
    assert.ok(argNames.size >= 3);
    for (const name of argNames)
      assert.match(
        header,
        new RegExp(`^#\\s+${name}\\s+\\S`, 'm'),
        `${file}: build argument ${name} is documented`,
      );
    const froms = ins.filter((i) => i.op === 'FROM');
    assert.ok(froms.length >= 2, 'multi-stage');
    const lastStage = ins.slice(ins.lastIndexOf(froms[froms.length - 1]!));
    const user = lastStage.filter((i) => i.op === 'USER').pop();
    assert.ok(
      user && !/^(root|0)(:|$)/.test(user.args),
      `${file}: the final stage runs as ${user?.args}`,
    );
    assert.ok(lastStage.some((i) => i.op === 'HEALTHCHECK' && i.args.includes('/healthz')));
    assert.deepEqual(
      lastStage.filter((i) => i.op === 'ENTRYPOINT').map((i) => i.args),
      ['["/usr/local/bin/dynlab-entrypoint"]'],
    );
    for (const [, image] of ins.filter((i) => i.op === 'ARG').map((i) => i.args.split('=')))
      if (image?.includes(':')) assert.doesNotMatch(image, /:latest$/);
  });
}

test('the CPU image is built on Node 20 slim and the GPU image on a CUDA 11.2 runtime with the matching tfjs-node-gpu', () => {
  const cpu = readFileSync(join(deployDir, 'docker', 'Dockerfile'), 'utf8');
  assert.match(cpu, /^ARG NODE_VERSION=20\.\d+\.\d+$/m);
  assert.match(cpu, /^FROM node:\$\{NODE_VERSION\}-\$\{DEBIAN_RELEASE\}-slim AS runtime$/m);
  const gpu = readFileSync(join(deployDir, 'docker', 'Dockerfile.gpu'), 'utf8');
  assert.match(gpu, /^ARG CUDA_IMAGE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu20\.04$/m);
  const engine = JSON.parse(
    readFileSync(join(repoRoot, 'packages', 'engine', 'package.json'), 'utf8'),
  ) as { dependencies: Record<string, string> };
  const tfjs = engine.dependencies['@tensorflow/tfjs-core'];
  assert.ok(tfjs);
  assert.match(gpu, new RegExp(`^ARG TFJS_VERSION=${tfjs.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(gpu, /@tensorflow\/tfjs-node-gpu@\$\{TFJS_VERSION\}/);
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    packageManager: string;
  };
  for (const text of [cpu, gpu])
    assert.match(
      text,
      new RegExp(
        `^ARG PNPM_VERSION=${pkg.packageManager.replace('pnpm@', '').replace(/\./g, '\\.')}$`,
        'm',
      ),
    );
});

test('the entry point runs the named service and passes anything else through', () => {
  const script = join(deployDir, 'docker', 'entrypoint.sh');
  const mode = execFileSync('git', ['ls-files', '-s', 'deploy/docker/entrypoint.sh'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.match(mode, /^100755 /, 'entrypoint.sh is executable in git');
  assert.equal(
    execFileSync('sh', [script, 'echo', 'passed', 'through'], { encoding: 'utf8' }),
    'passed through\n',
  );
  assert.match(
    execFileSync('sh', [script, '--help'], { encoding: 'utf8' }),
    /coordinator\|trainer\|analyzer/,
  );
});
