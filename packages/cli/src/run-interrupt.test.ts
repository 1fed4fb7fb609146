/**
 * Ctrl-C during `dynlab run`: SIGINT to the command alone (as `kill -INT` sends it) or to its whole
 * process group (as a terminal's Ctrl-C does, reaching nats-server and the services at the same
 * moment) must cancel the sweep, stop the nats-server and the three services it started, and exit
 * with 130. The children are found two ways: the pids the command prints, and the processes whose
 * parent is the command (from /proc), which must be the same set.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynlab } from './dynlab-process.fixture';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out.sort((a, b) => a - b);
}

/** Whether a process exists (a zombie counts as gone: it has exited). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Starts a run of a sweep long enough to be interrupted, waits until it is under way, sends `interrupt`, checks the aftermath. */
async function interruptRun(interrupt: (pid: number) => void, detached: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dynlab-cli-sigint-'));
  dirs.push(dir);
  // Long enough to be still running when the signal comes (each trial takes seconds).
  const spec = join(dir, 'long.yaml');
  writeFileSync(
    spec,
    [
      'name: long',
      'base:',
      '  data: { features: { n: 256, features: [{ frequency: 1 }, { frequency: 0.2 }] } }',
      '  model: { kind: relu, hidden: [64] }',
      '  steps: 200000',
      '  record: { logPoints: 20 }',
      'seeds: 8',
      'population: 2',
    ].join('\n'),
  );
  const run = startDynlab(['run', spec, '--out', join(dir, 'out')], { detached });
  const [, list] = await run.waitFor(/\(pids: ([^)]*)\)/);
  const printed = [...list!.matchAll(/(nats-server|coordinator|trainer|analyzer) (\d+)/g)].map(
    (m) => ({ name: m[1]!, pid: Number(m[2]) }),
  );
  assert.deepEqual(
    printed.map((p) => p.name),
    ['nats-server', 'coordinator', 'trainer', 'analyzer'],
  );
  await run.waitFor(/submitted: 8 trials/);
  await run.waitFor(/0\/8 trials/);
  assert.deepEqual(
    childrenOf(run.proc.pid!),
    printed.map((p) => p.pid).sort((a, b) => a - b),
    'the printed pids are the children',
  );
  interrupt(run.proc.pid!);
  const code = await run.exited;
  assert.equal(code, 130, run.stderr());
  assert.match(run.stderr(), /interrupted: cancelling the sweep/);
  assert.match(run.stderr(), /dynlab: stopped/);
  assert.doesNotMatch(run.stderr(), /\n\s+at /, 'no stack trace');
  for (const p of printed) assert.equal(alive(p.pid), false, `${p.name} (pid ${p.pid}) is gone`);
}

void test('SIGINT to dynlab run cancels the sweep, stops nats-server and the services, and exits 130', () =>
  interruptRun((pid) => process.kill(pid, 'SIGINT'), false));

void test("a terminal's Ctrl-C (SIGINT to the whole process group) does the same", () =>
  interruptRun((pid) => process.kill(-pid, 'SIGINT'), true));
