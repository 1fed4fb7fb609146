/** The worker entry in a real worker thread (a piscina pool, as the trainer runs it). */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  appendColumns,
  compileSweep,
  emptyColumns,
  expandSweep,
  planSweepJobs,
  runGroup,
  trialToInput,
  type TelemetryColumns,
} from '@dynlab/spec';
import type { PopulationTaskResult, PopulationWorkerMessage } from './population-worker';
import { runPopulation } from './run-population';
import { populationWorkerPath } from './worker-path';
import { makeTrial } from './test-support';

const pool = new Piscina({
  filename: populationWorkerPath,
  maxThreads: 1,
  minThreads: 1,
});

describe('population worker', () => {
  after(async () => {
    await pool.destroy();
  });

  it('streams telemetry chunks on the port and returns the outcomes, equal to a run in this thread', async () => {
    const trials = [
      makeTrial({ steps: 12, record: { every: 1 } }),
      makeTrial({ steps: 12, record: { every: 1 }, optimizer: { learningRate: 0.02 } }),
    ];
    const { port1, port2 } = new MessageChannel();
    const got = trials.map(() => emptyColumns());
    const lasts: number[] = [];
    const allLast = new Promise<void>((resolve) =>
      port1.on('message', (m: PopulationWorkerMessage) => {
        if (m.kind !== 'telemetry') return;
        appendColumns(got[m.trialIndex]!, m.chunk);
        if (m.last) lasts.push(m.trialIndex);
        if (lasts.length === trials.length) resolve();
      }),
    );
    const r = (await pool.run(
      { trials: trials.map(trialToInput), backend: 'wasm', chunkPoints: 5, port: port2 },
      { transferList: [port2] },
    )) as PopulationTaskResult;
    assert.ok('outcomes' in r);
    await allLast;
    port1.close();
    assert.equal(r.backend.name, 'wasm');
    assert.deepEqual(
      r.outcomes.map((o) => [o.status, o.stepsDone, o.backend]),
      [
        ['ok', 12, 'wasm'],
        ['ok', 12, 'wasm'],
      ],
    );
    assert.deepEqual(lasts.sort(), [0, 1]);
    const here = await runPopulation(trials, { backend: 'wasm' });
    here.telemetry!.forEach((t: TelemetryColumns, i) => assert.deepEqual(got[i], t));
  });

  it('accepts compiled trials, returns the series without a port, and stops on a cancel message', async () => {
    const plain = (await pool.run({
      trials: [makeTrial()],
      backend: 'wasm',
    })) as PopulationTaskResult;
    assert.ok(
      'telemetry' in plain &&
        plain.telemetry!.length === 1 &&
        plain.telemetry![0]!.steps.length === 5,
    );

    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: PopulationWorkerMessage) => {
      if (m.kind === 'telemetry') port1.postMessage({ kind: 'cancel' });
    });
    const r = (await pool.run(
      {
        trials: [trialToInput(makeTrial({ steps: 100000, record: { every: 1 } }))],
        backend: 'wasm',
        chunkPoints: 1,
        port: port2,
      },
      { transferList: [port2] },
    )) as PopulationTaskResult;
    port1.close();
    assert.ok('outcomes' in r);
    assert.equal(r.outcomes[0]!.status, 'cancelled');
    assert.ok(r.outcomes[0]!.stepsDone < 100000);
  });

  it('takes trials as groups sharing a body, with the same outcomes and series as the trials themselves', async () => {
    const sweep = compileSweep({
      base: {
        data: { features: { n: 12, features: [{}, { frequency: 0.5 }] } },
        model: { kind: 'relu', hidden: [3] },
        steps: 8,
      },
      axes: [{ path: 'optimizer.learningRate', values: [0.1, 0.3] }],
      seeds: 3,
    });
    const [job] = [...planSweepJobs(sweep, 'sw')];
    const groups = job!.runs.map((r) => runGroup(r, 'sw', sweep.seeds.length));
    const r = (await pool.run({ groups, backend: 'wasm' })) as PopulationTaskResult;
    assert.ok('outcomes' in r);
    const trials = [...expandSweep(sweep, 'sw')];
    const here = await runPopulation(trials, { backend: 'wasm' });
    assert.equal(r.outcomes.length, 6);
    assert.deepEqual(
      r.outcomes.map((o) => [o.status, o.finalLoss]),
      here.outcomes.map((o) => [o.status, o.finalLoss]),
    );
    assert.deepEqual(r.telemetry, here.telemetry);
    const bad = structuredClone(groups);
    bad[1]!.body.steps = 0;
    const e = (await pool.run({ groups: bad, backend: 'wasm' })) as PopulationTaskResult;
    assert.ok('error' in e && e.error.code === 'VALIDATION');
  });

  it('returns an invalid task as an error with its code', async () => {
    const r = (await pool.run({
      trials: [trialToInput(makeTrial()), trialToInput(makeTrial({ steps: 3 }))],
      backend: 'wasm',
    })) as PopulationTaskResult;
    assert.ok('error' in r);
    assert.equal(r.error.code, 'VALIDATION');
  });
});
