#!/usr/bin/env node
// The set-up behind `npm test`, `npm run demo` and `npm run bench`: installs whatever is missing
// on a fresh Debian machine with only Node >= 20 (pnpm, system packages, the workspace), builds,
// then runs the task. Plain Node with no dependencies, since nothing is installed yet. Every step
// says what it does; a step it cannot do says exactly what to install, and exits non-zero.
//
//   node scripts/setup.mjs [test|demo|bench|build]   (default: build)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const task = process.argv[2] ?? 'build';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, '');

// System packages (Debian names). `needs` are required for the task; `wants` are optional:
// without them the task still runs (the native BLAS backend is skipped, for example).
const system = {
  natsServer: {
    pkg: 'nats-server',
    present: () => hasCommand('nats-server') || existsSync('/usr/sbin/nats-server'),
    why: 'the message broker every service and test talks to',
  },
  promtool: {
    pkg: 'prometheus',
    present: () => hasCommand('promtool'),
    why: 'promtool checks the Prometheus config and alert rules; the observability test scrapes with a real Prometheus',
  },
  chromium: {
    pkg: 'chromium',
    present: () => hasCommand('chromium') || existsSync('/usr/bin/chromium'),
    why: 'the report test opens report.html in headless Chromium',
  },
  openssl: {
    pkg: 'openssl',
    present: () => hasCommand('openssl'),
    why: 'the NATS TLS test makes its certificates',
  },
  compiler: { pkg: 'g++', present: () => hasCommand('g++'), why: 'builds the native BLAS backend' },
  make: { pkg: 'make', present: () => hasCommand('make'), why: 'builds the native BLAS backend' },
  python3: {
    pkg: 'python3',
    present: () => hasCommand('python3'),
    why: 'node-gyp (native backend build)',
  },
  openblas: {
    pkg: 'libopenblas-dev',
    present: () => dpkgInstalled('libopenblas-dev'),
    why: 'BLAS for the native backend',
  },
  valgrind: {
    pkg: 'valgrind',
    present: () => hasCommand('valgrind'),
    why: 'the native backend memory check',
  },
};
const plans = {
  test: {
    needs: ['natsServer', 'promtool', 'chromium', 'openssl'],
    wants: ['compiler', 'make', 'python3', 'openblas', 'valgrind'],
  },
  demo: { needs: ['natsServer'], wants: ['compiler', 'make', 'python3', 'openblas'] },
  bench: { needs: ['natsServer'], wants: ['compiler', 'make', 'python3', 'openblas'] },
  build: { needs: [], wants: ['compiler', 'make', 'python3', 'openblas'] },
};

function say(msg) {
  console.log(`[dynlab setup] ${msg}`);
}
function fail(msg) {
  console.error(`[dynlab setup] ERROR: ${msg}`);
  process.exit(1);
}
function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
function dpkgInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  return r.status === 0;
}
function output(cmd, args, env = {}) {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      cwd: root,
    }).trim();
  } catch (err) {
    return {
      error:
        String(err.stderr || err.message)
          .trim()
          .split('\n')
          .filter(Boolean)
          .slice(-1)[0] ?? 'failed',
    };
  }
}

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20)
    fail(
      `Node ${process.versions.node} is too old: dynlab needs Node >= 20 (https://nodejs.org or Debian's nodejs from bookworm-backports).`,
    );
}

/** apt-get install for what is missing; required ones that cannot be installed stop the set-up. */
function ensureSystem() {
  const plan = plans[task] ?? plans.build;
  const missing = (names) => names.filter((n) => !system[n].present());
  const needed = missing(plan.needs);
  const wanted = missing(plan.wants);
  if (needed.length === 0 && wanted.length === 0) return;
  const all = [...needed, ...wanted];
  const isRoot = process.getuid?.() === 0;
  const canApt = hasCommand('apt-get');
  const list = (names) => names.map((n) => `${system[n].pkg} (${system[n].why})`).join('\n    ');
  if (!isRoot || !canApt) {
    const how = canApt
      ? `sudo apt-get install -y ${all.map((n) => system[n].pkg).join(' ')}`
      : `install with your package manager: ${all.map((n) => system[n].pkg).join(' ')}`;
    if (needed.length > 0)
      fail(
        `missing system packages:\n    ${list(needed)}\n  ${isRoot ? 'apt-get is not available' : 'not running as root'}, so I cannot install them. Run:\n    ${how}`,
      );
    say(
      `optional packages missing (the task runs without them):\n    ${list(wanted)}\n  to add them: ${how}`,
    );
    return;
  }
  const pkgs = [...new Set(all.map((n) => system[n].pkg))];
  say(`installing Debian packages: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ok =
    run('apt-get', ['update', '-q'], { env }) &&
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env });
  if (!ok) {
    const still = missing(plan.needs);
    if (still.length > 0)
      fail(
        `apt-get could not install:\n    ${list(still)}\n  Install them by hand and run this again.`,
      );
    say('some optional packages could not be installed; going on without them');
  }
}

/** pnpm through corepack; where corepack fails (its signature check fails on some registries), npm's global install. */
function resolvePnpm() {
  const have = output('pnpm', ['--version']);
  if (have === pnpmVersion) return ['pnpm'];
  const viaCorepack = output('corepack', ['pnpm', '--version'], {
    COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
  });
  if (viaCorepack === pnpmVersion) {
    say(`using pnpm ${pnpmVersion} through corepack`);
    return ['corepack', 'pnpm'];
  }
  const reason =
    typeof viaCorepack === 'object' ? viaCorepack.error : `corepack gave pnpm ${viaCorepack}`;
  say(
    `corepack could not provide pnpm ${pnpmVersion} (${reason}); installing it with: npm install -g pnpm@${pnpmVersion}`,
  );
  if (
    run('npm', ['install', '-g', '--no-fund', '--no-audit', `pnpm@${pnpmVersion}`]) &&
    output('pnpm', ['--version']) === pnpmVersion
  )
    return ['pnpm'];
  say(`a global install was not possible; using npx pnpm@${pnpmVersion}`);
  return ['npx', '-y', `pnpm@${pnpmVersion}`];
}

function pnpm(cmd, args, what) {
  say(what);
  if (
    !run(cmd[0], [...cmd.slice(1), ...args], {
      env: { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0' },
    })
  )
    fail(`${what} failed (see above)`);
}

checkNode();
ensureSystem();
const cmd = resolvePnpm();
const ci = process.env.CI === 'true' || process.env.CI === '1';
pnpm(
  cmd,
  ['install', ...(ci ? ['--frozen-lockfile'] : [])],
  `installing the workspace (pnpm ${pnpmVersion}${ci ? ', frozen lockfile' : ''})`,
);
pnpm(cmd, ['run', 'build'], 'building');
const runTask = { test: 'test:run', demo: 'demo:run', bench: 'bench:run' }[task];
if (runTask) {
  say(`running ${task}`);
  const r = spawnSync(
    cmd[0],
    [...cmd.slice(1), 'run', '--silent', runTask, ...process.argv.slice(3)],
    { stdio: 'inherit', cwd: root },
  );
  process.exit(r.status ?? 1);
}
