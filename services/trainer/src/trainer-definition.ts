/** The trainer as a runnable service (used by `main.ts` and by `dynlab trainer`). */
import { CommonConfigSchema, type ServiceDefinition } from '@dynlab/runtime';
import { z } from 'zod';
import { Trainer } from './trainer-service';

export const TrainerConfigSchema = CommonConfigSchema.extend({
  /** Worker threads; 0 = one per core. */
  threads: z.number().int().min(0).default(0),
  backend: z.enum(['auto', 'tensorflow', 'native', 'wasm', 'cpu']).default('auto'),
  chunkPoints: z.number().int().positive().default(25),
  workerHeapMb: z.number().int().positive().default(2048),
  /** Jobs held per worker beyond the one it runs (0: pull only for a free worker). */
  prefetch: z.number().int().min(0).max(16).default(1),
  /** Seconds a job may take to finish after SIGTERM before it is handed back. */
  shutdownGraceS: z.number().nonnegative().default(30),
}).strict();

export const trainerDefinition: ServiceDefinition<typeof TrainerConfigSchema> = {
  name: 'trainer',
  summary:
    'pulls population jobs while a worker is free and runs them with the engine in a worker pool.',
  schema: TrainerConfigSchema,
  envMap: {
    DYNLAB_TRAINER_THREADS: 'threads',
    DYNLAB_BACKEND: 'backend',
    DYNLAB_CHUNK_POINTS: 'chunkPoints',
    DYNLAB_WORKER_HEAP_MB: 'workerHeapMb',
    DYNLAB_TRAINER_PREFETCH: 'prefetch',
  },
  flags: {
    threads: { path: 'threads', help: 'worker threads (default: one per core)' },
    backend: {
      path: 'backend',
      help: 'auto | tensorflow | native | wasm | cpu (default auto)',
      type: 'string',
    },
  },
  async start({ config, bus, logger, registry }) {
    const t = await Trainer.start({
      bus,
      logger,
      registry,
      instance: config.instance,
      threads: config.threads || undefined,
      backend: config.backend,
      chunkPoints: config.chunkPoints,
      workerHeapMb: config.workerHeapMb,
      prefetch: config.prefetch,
    });
    return { stop: () => t.stop(config.shutdownGraceS * 1000), load: () => t.load() };
  },
};
