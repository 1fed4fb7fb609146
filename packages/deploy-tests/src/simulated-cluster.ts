/**
 * The three services' metrics as a small sweep leaves them, served over real HTTP by
 * @dynlab/metrics' MetricsServer, without NATS or training. Prometheus scrapes these the way it
 * scrapes the real services, so dashboard and alert queries can be evaluated in a unit test; the
 * end-to-end test with real services does the same against the real thing.
 */
import {
  MetricsRegistry,
  MetricsServer,
  applyMetricsDelta,
  MetricsDeltaRecorder,
  TrainerMetricNames,
  createAnalyzerMetrics,
  createCoordinatorMetrics,
  createTrainerMetrics,
} from '@dynlab/metrics';

/** A running simulated cluster. */
export interface SimulatedCluster {
  /** `host:port` of each service's metrics endpoint. */
  targets: { coordinator: string[]; trainer: string[]; analyzer: string[] };
  /** Counts another job's trials (so that rates move between scrapes). */
  step(): void;
  close(): Promise<void>;
}

/**
 * Starts the simulated cluster after one sweep `sweep` of 64 trials (60 ok, 2 diverged, 2 failed
 * after a dead-lettered job) on two trainers, with starvation findings.
 */
export async function startSimulatedCluster(sweep: string): Promise<SimulatedCluster> {
  const make = (service: string, instance: string) =>
    new MetricsRegistry({ service, instance, version: '0.1.0' });
  const coordinatorRegistry = make('coordinator', 'coordinator-0');
  const trainerRegistries = [make('trainer', 'trainer-0'), make('trainer', 'trainer-1')];
  const analyzerRegistry = make('analyzer', 'analyzer-0');

  const coordinator = createCoordinatorMetrics(coordinatorRegistry);
  coordinator.initSweep(sweep);
  coordinator.setSweepStates({ running: 0, complete: 1 });
  coordinator.submitDuration.observe({ outcome: 'accepted' }, 0.04);
  coordinator.validationRejections.inc();
  coordinator.submitDuration.observe({ outcome: 'rejected' }, 0.002);
  coordinator.jobsPublished.inc({ sweep }, 8);
  coordinator.setJobQueue({ depth: 0, lag: 0, inFlight: 0 });
  coordinator.jobsDeadLettered.inc();
  coordinator.trials.inc({ sweep, outcome: 'ok' }, 60);
  coordinator.trials.inc({ sweep, outcome: 'diverged' }, 2);
  coordinator.trials.inc({ sweep, outcome: 'failed' }, 2);
  coordinator.setSweepCounts(sweep, { total: 64, ok: 60, diverged: 2, failed: 2, cancelled: 0 });

  const trainers = trainerRegistries.map((registry, i) => {
    const t = createTrainerMetrics(registry);
    const backend = i === 0 ? 'native' : 'wasm';
    t.setBackend(backend);
    t.initSweep(sweep, backend);
    t.setPool({ threads: 2, busy: 1, queued: 0 });
    return { t, registry, backend };
  });
  const runJob = () => {
    for (const { t, registry, backend } of trainers) {
      const recorder = new MetricsDeltaRecorder();
      recorder.inc(TrainerMetricNames.networkSteps, { sweep, backend }, 16 * 200);
      recorder.inc(TrainerMetricNames.trials, { sweep, backend, outcome: 'ok' }, 15);
      recorder.inc(TrainerMetricNames.trials, { sweep, backend, outcome: 'diverged' }, 1);
      applyMetricsDelta(registry, recorder.take());
      t.workerWait.observe(0.01);
      t.jobDuration.observe({ backend, outcome: 'ok' }, 1.2);
      t.jobs.inc({ outcome: 'ok' });
      t.telemetryChunks.inc({ sweep }, 32);
      t.telemetryBytes.inc({ sweep }, 32 * 4096);
    }
  };
  runJob();

  const analyzer = createAnalyzerMetrics(analyzerRegistry);
  analyzer.initSweep(sweep);
  for (const name of ['gradient-share', 'starvation-counterfactual', 'learning-curve'])
    analyzer.plugins.register(name);
  analyzer.consumerLag.set({ analyzer: 'default' }, 0);
  analyzer.telemetryChunks.inc({ sweep }, 64);
  analyzer.results.inc({ sweep }, 64);
  analyzer.plugins.findingEmitted({
    analyzer: 'gradient-share',
    sweep,
    kind: 'starved-feature',
    severity: 'warning',
  });
  analyzer.plugins.findingEmitted({
    analyzer: 'starvation-counterfactual',
    sweep,
    kind: 'starved-feature',
    severity: 'warning',
  });
  analyzer.plugins.findingEmitted({
    analyzer: 'starvation-counterfactual',
    sweep,
    kind: 'counterfactual-ratio',
    severity: 'info',
  });
  analyzer.plugins.findingEmitted({
    analyzer: 'learning-curve',
    sweep,
    kind: 'learning-time',
    severity: 'info',
  });
  analyzer.plugins.hookSeconds({ analyzer: 'gradient-share', hook: 'onChunk' }, 0.002);
  analyzer.plugins.hookSeconds({ analyzer: 'learning-curve', hook: 'onTrialEnd' }, 0.01);

  const servers = [coordinatorRegistry, ...trainerRegistries, analyzerRegistry].map(
    (registry) => new MetricsServer({ registry, host: '127.0.0.1', port: 0 }),
  );
  await Promise.all(servers.map((s) => s.listen()));
  const addr = (s: MetricsServer | undefined) => `127.0.0.1:${s!.port}`;
  return {
    targets: {
      coordinator: [addr(servers[0])],
      trainer: [addr(servers[1]), addr(servers[2])],
      analyzer: [addr(servers[3])],
    },
    step: runJob,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
