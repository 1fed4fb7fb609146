/** The analyzer as a runnable service (used by `main.ts` and by `dynlab analyzer`). */
import { CommonConfigSchema, type ServiceDefinition } from '@dynlab/runtime';
import { z } from 'zod';
import { AnalyzerService, resolveAnalyzers } from './analyzer-service';

export const AnalyzerConfigSchema = CommonConfigSchema.extend({
  /** Built-in analyzer names or plug-in modules (package names or paths); empty = every built-in. */
  analyzers: z.array(z.string().min(1)).default([]),
  /** Options per analyzer name. */
  options: z.record(z.unknown()).default({}),
  /** Consumer group: analyzer instances of one group share the work. */
  group: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('default'),
  settleS: z.number().positive().default(10),
}).strict();

export const analyzerDefinition: ServiceDefinition<typeof AnalyzerConfigSchema> = {
  name: 'analyzer',
  summary:
    'runs analyzer plug-ins over the telemetry and results streams and publishes their findings.',
  schema: AnalyzerConfigSchema,
  envMap: {
    DYNLAB_ANALYZERS: 'analyzers',
    DYNLAB_ANALYZER_GROUP: 'group',
    DYNLAB_ANALYZER_SETTLE_S: 'settleS',
  },
  flags: { group: { path: 'group', help: "consumer group (default 'default')", type: 'string' } },
  async start({ config, bus, logger, registry }) {
    const analyzers = await resolveAnalyzers(config.analyzers, config.options);
    logger.info('analyzers loaded', { analyzers: analyzers.map((a) => a.definition.name) });
    const s = await AnalyzerService.start({
      bus,
      logger,
      registry,
      analyzers,
      group: config.group,
      settleS: config.settleS,
    });
    return { stop: () => s.stop() };
  },
};
