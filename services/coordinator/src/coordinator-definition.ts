/** The coordinator as a runnable service (used by `main.ts` and by `dynlab coordinator`). */
import type { ServiceDefinition } from '@dynlab/runtime';
import { CoordinatorConfigSchema, coordinatorEnv } from './coordinator-config';
import { Coordinator } from './coordinator-service';

export const coordinatorDefinition: ServiceDefinition<typeof CoordinatorConfigSchema> = {
  name: 'coordinator',
  summary:
    'validates sweeps, enqueues their jobs, records every trial outcome once, serves submit/get/list/cancel/resume.',
  schema: CoordinatorConfigSchema,
  envMap: coordinatorEnv,
  flags: {
    'max-trials': { path: 'limits.maxTrials', help: 'largest sweep accepted (default 100000)' },
  },
  async start({ config, bus, logger, registry }) {
    const c = await Coordinator.start({
      bus,
      logger,
      registry,
      limits: config.limits,
      queueProbeS: config.queueProbeS,
    });
    return { stop: () => c.stop() };
  },
};
