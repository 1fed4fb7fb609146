#!/usr/bin/env node
/**
 * Builds the addon during `pnpm install`, and never fails the install.
 *
 * Why: the addon needs a C++ compiler, make, python3 (node-gyp) and a CBLAS (Debian's
 * libopenblas-dev). A machine without them must still install and run dynlab on the next backend,
 * so a failed build writes `build/status.json` with the reason, prints one line and exits 0;
 * `nativeStatus()` reports that reason at run time. `--strict` (the `build:addon` script) exits 1
 * instead, for developers who want to see the failure, and `--force` rebuilds an addon that is up
 * to date (same sources, node, compiler and BLAS choice). Node's headers are taken from the local
 * installation (`npm_config_nodedir`, or the prefix of this node binary when it ships them), since
 * the machine may have no internet access for node-gyp to download them.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const statusFile = path.join(buildDir, 'status.json');
const addonFile = path.join(buildDir, 'Release', 'dynlab_native.node');
const strict = process.argv.includes('--strict');
const force = process.argv.includes('--force');

/** What the build depends on: sources, node version and ABI, compiler and BLAS choices. */
function fingerprint() {
  const h = crypto.createHash('sha1');
  const files = [
    'binding.gyp',
    ...fs
      .readdirSync(path.join(root, 'csrc'))
      .sort()
      .map((f) => path.join('csrc', f)),
  ];
  for (const f of files) h.update(f).update(fs.readFileSync(path.join(root, f)));
  for (const v of [process.version, process.arch, process.env.DYNLAB_BLAS_LIBS, process.env.CXX])
    h.update(String(v));
  return h.digest('hex');
}

function finish(available, reason, extra = {}) {
  fs.mkdirSync(buildDir, { recursive: true });
  const status = {
    available,
    reason,
    node: process.version,
    builtAt: new Date().toISOString(),
    fingerprint: fingerprint(),
    ...extra,
  };
  fs.writeFileSync(statusFile, `${JSON.stringify(status, null, 2)}\n`);
  if (available) console.log(`@dynlab/native: built (${reason})`);
  else console.warn(`@dynlab/native: not built, the engine will use another backend: ${reason}`);
  process.exit(!available && strict ? 1 : 0);
}

/** The most telling line of a failed build, with the Debian package that would fix it. */
function explain(output) {
  const lines = output.split('\n');
  const known = [
    [/cblas\.h: No such file/, 'no CBLAS header cblas.h (install libopenblas-dev)'],
    [
      /cannot find -l(\S+)/,
      (m) => `the linker cannot find -l${m[1]} (install libopenblas-dev, or set DYNLAB_BLAS_LIBS)`,
    ],
    [
      /(c\+\+|g\+\+|cc|gcc|make)'?: (not found|No such file)|No such file or directory: '[^']*(cc|\+\+)'/,
      'no C compiler or make (install g++ and make)',
    ],
    [/Could not find any Python/, 'no python3 for node-gyp (install python3)'],
    [
      /node_api\.h: No such file|gyp: Undefined variable|Could not find common\.gypi|ENOTFOUND|EAI_AGAIN/,
      'no Node.js headers available offline (set npm_config_nodedir)',
    ],
  ];
  for (const line of lines)
    for (const [re, what] of known) {
      const m = re.exec(line);
      if (m) return typeof what === 'function' ? what(m) : what;
    }
  const err =
    lines.find((l) => /\berror:/.test(l)) ??
    lines.find((l) => /error/i.test(l) && !/gyp (ERR|info)/.test(l)) ??
    lines.filter(Boolean).slice(-1)[0] ??
    '';
  return `the build failed: ${err.trim().slice(0, 300)}`;
}

/** Whether a tool (first word of a command line, e.g. CXX="ccache g++") runs at all. */
function runs(command) {
  const [tool, ...args] = command.trim().split(/\s+/);
  const r = spawnSync(tool, [...args, '--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/**
 * One build at a time per package folder: pnpm may run this script while another install (another
 * terminal, another tool) is building the same folder, and two node-gyp runs in one build/ folder
 * break each other. A second caller waits for the first and keeps its result.
 */
function lock() {
  const file = path.join(
    os.tmpdir(),
    `dynlab-native-build-${crypto.createHash('sha1').update(root).digest('hex').slice(0, 12)}.lock`,
  );
  const deadline = Date.now() + 600_000;
  let waited = false;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      process.on('exit', () => fs.rmSync(file, { force: true }));
      return waited;
    } catch (err) {
      if (err.code !== 'EEXIST') return false;
      let alive = false;
      try {
        process.kill(Number(fs.readFileSync(file, 'utf8')), 0);
        alive = true;
      } catch {
        // The holder is gone (or the file just went away): take the lock over.
      }
      if (!alive || Date.now() > deadline) fs.rmSync(file, { force: true });
      else {
        waited = true;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      }
    }
  }
}

function main() {
  if (lock() && fs.existsSync(statusFile)) {
    const other = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
    console.log(
      `@dynlab/native: another install built it meanwhile (${other.available ? 'built' : other.reason})`,
    );
    process.exit(!other.available && strict ? 1 : 0);
  }
  if (process.env.DYNLAB_NATIVE_SKIP)
    finish(false, 'the build was skipped (DYNLAB_NATIVE_SKIP is set)');
  // Every `pnpm install` runs this script; an addon built from the same sources for the same node
  // is kept (rebuilding would also remove it for a while from under running processes).
  if (!force && fs.existsSync(addonFile) && fs.existsSync(statusFile)) {
    const previous = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
    if (previous.available && previous.fingerprint === fingerprint()) {
      console.log(`@dynlab/native: up to date (${previous.reason}, ${previous.builtAt})`);
      process.exit(0);
    }
  }
  if (process.platform !== 'linux')
    finish(false, `unsupported platform ${process.platform} (the addon is built on Linux)`);
  let gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js');
    require.resolve('node-addon-api');
  } catch {
    finish(false, 'node-gyp or node-addon-api is not installed');
  }
  const cxx = process.env.CXX || 'g++';
  if (!runs(cxx)) finish(false, `no C++ compiler (${cxx} does not run; install g++ and make)`);
  if (!runs('make')) finish(false, 'no make (install make)');
  const dir = nodeDir();
  const args = [gyp, 'rebuild', '--release', '--jobs', 'max', ...(dir ? [`--nodedir=${dir}`] : [])];
  const started = Date.now();
  const build = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    env: process.env,
    timeout: 600_000,
  });
  const output = `${build.stdout ?? ''}\n${build.stderr ?? ''}${build.error ? `\n${build.error.message}` : ''}`;
  if (build.status !== 0 || !fs.existsSync(addonFile))
    finish(false, explain(output), { log: output.slice(-4000) });
  // A build that links but cannot load (no BLAS at run time, wrong CPU) is reported here already.
  // The load also records the BLAS's own description with the kernels it picks by itself (without
  // OPENBLAS_CORETYPE), from which the loader decides its environment defaults (src/blas-defaults.ts).
  const probeEnv = { ...process.env };
  delete probeEnv.OPENBLAS_CORETYPE;
  const load = spawnSync(
    process.execPath,
    ['-e', `process.stdout.write(require(${JSON.stringify(addonFile)}).blasConfig())`],
    { encoding: 'utf8', env: probeEnv },
  );
  if (load.status !== 0)
    finish(
      false,
      `built but cannot be loaded: ${(load.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? 'unknown error'}`,
    );
  finish(true, `compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`, {
    blas: load.stdout.trim(),
  });
}

main();
