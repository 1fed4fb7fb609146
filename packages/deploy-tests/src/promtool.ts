/**
 * Finds and runs `promtool` (Debian's `prometheus` package ships it). A missing promtool is an
 * error that says how to install it, never a skipped test: the Prometheus files are only known
 * good once promtool has read them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { DynlabError, ErrorCode } from '@dynlab/core';

/** Path of the promtool binary (PROMTOOL env, else PATH, else /usr/bin). */
export function promtoolBinary(): string {
  return findBinary('promtool', process.env.PROMTOOL);
}

/** Path of the prometheus binary (PROMETHEUS env, else PATH, else /usr/bin). */
export function prometheusBinary(): string {
  return findBinary('prometheus', process.env.PROMETHEUS);
}

function findBinary(name: string, override: string | undefined): string {
  for (const candidate of [override, name, `/usr/bin/${name}`, `/usr/local/bin/${name}`]) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      /* try the next one */
    }
  }
  throw new DynlabError(
    ErrorCode.Unavailable,
    `${name} not found: install Debian's prometheus package (apt-get install -y prometheus; \`npm test\` does this in its set-up) or set ${name.toUpperCase()} to the binary`,
  );
}

/** Runs promtool with `args` in `cwd`; returns its exit code and everything it printed. */
export function runPromtool(args: string[], cwd: string): { code: number; output: string } {
  const r = spawnSync(promtoolBinary(), args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
