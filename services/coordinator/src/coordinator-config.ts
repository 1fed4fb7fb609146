/** The coordinator's settings: the common service settings plus the sweep limits. */
import { CommonConfigSchema } from '@dynlab/runtime';
import { defaultLimits } from '@dynlab/spec';
import { z } from 'zod';

export const CoordinatorConfigSchema = CommonConfigSchema.extend({
  limits: z
    .object({
      maxTrials: z.number().int().positive().default(defaultLimits.maxTrials),
      maxPopulation: z.number().int().positive().default(defaultLimits.maxPopulation),
      maxSteps: z.number().int().positive().default(defaultLimits.maxSteps),
      maxJobBytes: z.number().positive().default(defaultLimits.maxJobBytes),
    })
    .strict()
    .default({}),
  queueProbeS: z.number().positive().default(5),
}).strict();

export const coordinatorEnv: Record<string, string> = {
  DYNLAB_MAX_TRIALS: 'limits.maxTrials',
  DYNLAB_MAX_POPULATION: 'limits.maxPopulation',
  DYNLAB_MAX_STEPS: 'limits.maxSteps',
  DYNLAB_MAX_JOB_BYTES: 'limits.maxJobBytes',
};
