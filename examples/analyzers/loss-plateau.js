// loss-plateau: an example dynlab analyzer plug-in (see docs/writing-an-analyzer.md).
//
// It flags trials whose loss sat on its initial plateau for more than a chosen fraction of the run,
// watching the telemetry as it streams in, and sums them up per sweep. Copy this file, change the
// name and the science, and list its path among the analyzer service's analyzers (next to built-in
// names). A single CommonJS file needs nothing installed: the host lends it '@dynlab/analysis' and 'zod'.
'use strict';

const { defineAnalyzer } = require('@dynlab/analysis');
const { z } = require('zod');

module.exports = defineAnalyzer({
  name: 'loss-plateau',
  version: '1.0.0',
  description:
    'Flags trials whose loss stays on its initial plateau for more than a fraction of the run.',
  options: z
    .object({
      // The plateau ends when the loss first falls below (1 - drop) times its first value.
      drop: z.number().gt(0).lt(1).default(0.05),
      // A trial is slow when its plateau lasts longer than this fraction of its steps.
      maxFraction: z.number().gt(0).max(1).default(0.5),
    })
    .strict(),
  // setup runs once per sweep; what it closes over is this sweep's state.
  setup(ctx, options) {
    const running = new Map(); // trial id -> { first loss, step at which the plateau ended }
    let slow = 0;
    let trials = 0;
    return {
      // Chunks arrive in order while the trial runs: keep only what is needed, not the series.
      onChunk(trial, chunk) {
        const state = running.get(trial.id) ?? { first: chunk.loss[0], endStep: undefined };
        running.set(trial.id, state);
        for (let i = 0; i < chunk.steps.length && state.endStep === undefined; i++) {
          if (chunk.loss[i] < (1 - options.drop) * state.first) state.endStep = chunk.steps[i];
        }
      },
      onTrialEnd(trial, outcome) {
        const state = running.get(trial.id);
        running.delete(trial.id);
        if (!state || outcome.status !== 'ok') return;
        trials++;
        const plateau = state.endStep ?? outcome.stepsDone;
        const fraction = plateau / Math.max(1, trial.steps);
        if (fraction <= options.maxFraction) return;
        slow++;
        ctx.emit({
          kind: 'slow-start',
          severity: 'warning',
          trialId: trial.id,
          evidence: {
            plateauSteps: plateau,
            fraction,
            steps: trial.steps,
            learningRate: trial.optimizer.learningRate,
          },
          message: `the loss stayed within ${options.drop * 100}% of its first value for ${plateau} of ${trial.steps} steps`,
        });
      },
      onSweepEnd() {
        ctx.logger.info('loss plateaus counted', { trials, slow });
        ctx.emit({
          kind: 'slow-start-summary',
          evidence: { trials, slow, fraction: trials > 0 ? slow / trials : 0 },
          message: `${slow} of ${trials} trials started slowly`,
        });
      },
      close() {
        running.clear();
      },
    };
  },
});
