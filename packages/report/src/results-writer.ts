/**
 * `openResults` → `ResultsWriter`: the exported results of a sweep and its report, fed one trial
 * at a time. Telemetry and findings go to disk as they arrive (telemetry.parquet in row groups,
 * findings.jsonl line by line); what stays in memory is a few scalars per trial, downsampled series
 * of a bounded set of trials, and a bounded digest of the findings. The trial table, whose learning
 * times may come from findings that arrive after the trials, and the report are written at `finish`.
 */
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DynlabError, ErrorCode, silentLogger, type Logger } from '@dynlab/core';
import type { CompiledTrial, Finding, TelemetryColumns, TrialOutcome } from '@dynlab/spec';
import type { FigureId } from './figure';
import { FindingsDigest } from './findings-digest';
import {
  assignSlopes,
  isFailedTrainingFinding,
  isFailedTrial,
  readCounterfactual,
  readCurveFit,
  readLossTimeRatio,
  readSlope,
  readSpeedPoint,
  type SlopeFinding,
  type SpeedPoint,
} from './finding-evidence';
import { halfErrorTime } from './learning-time';
import { regressorAxis } from './learning-time-figure';
import type { FittedSigmoid } from './log-sigmoid';
import { axisLabels, paramsLabel } from './param-values';
import type { GroupInfo, ReportData, TheoryCurve, TrialRecord } from './report-data';
import { reportFigures } from './report-figures';
import { reportHtml, type RenderedFigure } from './report-html';
import { defaultSeriesBudget, SeriesStore, type SeriesBudget } from './series-store';
import { renderSvg } from './svg-renderer';
import { TelemetryParquetWriter } from './telemetry-parquet-writer';
import { trialColumns, writeTableCsv, writeTableParquet } from './trials-table';

/** What the results are about and how much memory the writer may hold. */
export interface ResultsOptions {
  sweepId: string;
  /** @default the sweep id */
  sweepName?: string;
  /** Swept paths, in the sweep's order (`seed` is always a column and is ignored here). */
  axes: readonly string[];
  /** Page title. @default `dynlab report: <sweepName>` */
  title?: string;
  /** Rows of telemetry.parquet buffered before a row group is written. @default 131072 */
  rowGroupRows?: number;
  /** How many series the plots keep. @default defaultSeriesBudget */
  plots?: Partial<SeriesBudget>;
  /** Findings listed one by one in the report (all are counted). @default 200 */
  maxListedFindings?: number;
  /** @default silentLogger */
  logger?: Logger;
}

/** Optional per-trial inputs beyond the engine's output. */
export interface TrialExtras {
  /** Learning time in steps, when the caller has one; wins over findings and the half-error rule. */
  learningTime?: number;
  /** Closed-form curves to draw with the trial's recorded ones. */
  theory?: readonly TheoryCurve[];
}

/** Paths of the files written and what they hold. */
export interface ResultFiles {
  dir: string;
  trialsCsv: string;
  trialsParquet: string;
  telemetryParquet: string;
  findingsJsonl: string;
  reportHtml: string;
  trials: number;
  telemetryRows: number;
  telemetryRowGroups: number;
  findings: number;
  /** Figures drawn in the report, in page order. */
  figures: FigureId[];
  /** Warnings from the plotting library, by figure (empty when all went well). */
  plotWarnings: { figure: FigureId; message: string }[];
}

/** File names inside the results folder. */
export const resultFileNames = {
  trialsCsv: 'trials.csv',
  trialsParquet: 'trials.parquet',
  telemetryParquet: 'telemetry.parquet',
  findingsJsonl: 'findings.jsonl',
  reportHtml: 'report.html',
} as const;

const fileDescriptions: Record<keyof typeof resultFileNames, string> = {
  trialsCsv:
    'one row per trial: id, group, seed, each swept parameter, status, backend, final loss and error, learning time (steps), wall time (s)',
  trialsParquet: 'the same table as trials.csv, typed',
  telemetryParquet: 'every recorded value in long format: trial, step, quantity, index, value',
  findingsJsonl: 'every finding, one JSON object per line',
  reportHtml: 'this page',
};

/** Creates `dir` (if needed) and opens the streamed files; feed it with `addTrial`, `addFinding`, then `finish`. */
export async function openResults(dir: string, options: ResultsOptions): Promise<ResultsWriter> {
  await mkdir(dir, { recursive: true });
  const telemetry = await TelemetryParquetWriter.open(
    join(dir, resultFileNames.telemetryParquet),
    options.rowGroupRows ?? 131_072,
  );
  const findings = await open(join(dir, resultFileNames.findingsJsonl), 'w');
  return new ResultsWriter(dir, options, telemetry, findings);
}

/** Streams one sweep's results to disk; calls may overlap (they run in order). */
export class ResultsWriter {
  private readonly axes: string[];
  private readonly labels: Map<string, string>;
  private readonly logger: Logger;
  private readonly trials: TrialRecord[] = [];
  private readonly trialIds = new Set<string>();
  private readonly groups = new Map<string, GroupInfo>();
  private readonly store: SeriesStore;
  private readonly digest: FindingsDigest;
  private readonly findingIds = new Set<string>();
  private readonly curveTimes = new Map<string, number>();
  private readonly sigmoids = new Map<
    string,
    { error?: FittedSigmoid; probes: Map<number, FittedSigmoid> }
  >();
  private readonly slopes: SlopeFinding[] = [];
  private readonly speedPoints: SpeedPoint[] = [];
  private failedTrials: Set<string> | undefined;
  private readonly counterfactuals: ReportData['counterfactuals'] = [];
  private readonly lossTimeRatios: number[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private state: 'open' | 'finishing' | 'closed' = 'open';

  /** @internal use `openResults` */
  constructor(
    readonly dir: string,
    private readonly options: ResultsOptions,
    private readonly telemetry: TelemetryParquetWriter,
    private readonly findingsFile: FileHandle,
  ) {
    this.axes = options.axes.filter((a) => a !== 'seed');
    this.labels = axisLabels(this.axes);
    this.logger = options.logger ?? silentLogger;
    this.store = new SeriesStore({ ...defaultSeriesBudget, ...options.plots });
    this.digest = new FindingsDigest(options.maxListedFindings ?? 200);
  }

  /**
   * Records one trial: its row, its whole telemetry (to telemetry.parquet) and, within the plot
   * budget, its downsampled series. A trial id seen before is ignored (redelivered results).
   */
  addTrial(
    trial: CompiledTrial,
    outcome: TrialOutcome,
    telemetry: TelemetryColumns,
    extras: TrialExtras = {},
  ): Promise<void> {
    return this.enqueue(async () => {
      if (this.trialIds.has(trial.id)) {
        this.logger.debug('trial already recorded; ignored', { trial: trial.id });
        return;
      }
      await this.telemetry.add(trial.id, telemetry);
      this.trialIds.add(trial.id);
      const params = Object.fromEntries(
        this.axes.filter((a) => trial.params[a] !== undefined).map((a) => [a, trial.params[a]!]),
      );
      const group = this.groupOf(params);
      this.trials.push({
        id: trial.id,
        seed: trial.seed,
        group: group.index,
        params,
        status: outcome.status,
        backend: outcome.backend,
        finalLoss: outcome.finalLoss,
        finalError: outcome.finalError,
        stepsDone: outcome.stepsDone,
        wallS: outcome.wallS,
        failure: outcome.error ? `${outcome.error.code}: ${outcome.error.message}` : undefined,
        initialError: telemetry.error[0],
        halfErrorTime: halfErrorTime(telemetry),
        callerLearningTime:
          extras.learningTime !== undefined && extras.learningTime > 0
            ? extras.learningTime
            : undefined,
      });
      if (!this.store.add(trial, group.index, telemetry, extras.theory))
        this.sigmoids.delete(trial.id);
    });
  }

  /** Appends a finding to findings.jsonl and keeps what the report draws from it; a repeated finding id is ignored. */
  addFinding(f: Finding): Promise<void> {
    return this.enqueue(async () => {
      if (f.findingId) {
        if (this.findingIds.has(f.findingId)) return;
        this.findingIds.add(f.findingId);
      }
      await this.findingsFile.write(JSON.stringify(f) + '\n');
      this.digest.add(f);
      this.absorb(f);
    });
  }

  /** Writes the trial table and the report, closes every file and returns their paths. */
  finish(): Promise<ResultFiles> {
    const done = this.enqueue(async () => {
      const tel = await this.telemetry.finish();
      await this.findingsFile.close();
      for (const t of this.trials) {
        const fromCurve = this.curveTimes.get(t.id);
        [t.learningTime, t.learningTimeSource] =
          t.callerLearningTime !== undefined
            ? [t.callerLearningTime, 'caller']
            : fromCurve !== undefined
              ? [fromCurve, 'learning-curve']
              : t.halfErrorTime !== undefined
                ? [t.halfErrorTime, 'half-error']
                : [undefined, undefined];
      }
      const path = (k: keyof typeof resultFileNames) => join(this.dir, resultFileNames[k]);
      const columns = trialColumns(this.trials, this.axes);
      await writeTableCsv(path('trialsCsv'), columns);
      await writeTableParquet(path('trialsParquet'), columns);
      const data = this.reportData();
      const { figures, warnings } = await this.renderFigures(data);
      const files = (Object.keys(resultFileNames) as (keyof typeof resultFileNames)[]).map((k) => ({
        name: resultFileNames[k],
        what: fileDescriptions[k],
      }));
      await writeFile(path('reportHtml'), reportHtml(data, figures, files, new Date()));
      this.state = 'closed';
      return {
        dir: this.dir,
        trialsCsv: path('trialsCsv'),
        trialsParquet: path('trialsParquet'),
        telemetryParquet: path('telemetryParquet'),
        findingsJsonl: path('findingsJsonl'),
        reportHtml: path('reportHtml'),
        trials: this.trials.length,
        telemetryRows: tel.rows,
        telemetryRowGroups: tel.rowGroups,
        findings: this.digest.total,
        figures: figures.filter((f) => f.svg !== undefined).map((f) => f.id),
        plotWarnings: warnings,
      };
    });
    this.state = 'finishing';
    return done;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    if (this.state !== 'open')
      return Promise.reject(
        new DynlabError(ErrorCode.Conflict, `results in ${this.dir} are already finished`),
      );
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private groupOf(params: Record<string, string>): GroupInfo {
    const key = JSON.stringify(this.axes.map((a) => params[a] ?? null));
    let g = this.groups.get(key);
    if (!g) {
      g = {
        index: this.groups.size,
        params,
        label: paramsLabel(params, this.axes, this.labels),
        trials: 0,
      };
      this.groups.set(key, g);
    }
    g.trials++;
    return g;
  }

  private absorb(f: Finding): void {
    const fit = readCurveFit(f);
    if (fit) {
      if (fit.probe < 0) this.curveTimes.set(f.trialId, fit.learningStep);
      const plotted = this.store.series.has(f.trialId) || !this.trialIds.has(f.trialId);
      if (fit.sigmoid && plotted) {
        const s = this.sigmoids.get(f.trialId) ?? { probes: new Map<number, FittedSigmoid>() };
        if (fit.probe < 0) s.error = fit.sigmoid;
        else s.probes.set(fit.probe, fit.sigmoid);
        this.sigmoids.set(f.trialId, s);
      }
    }
    const slope = readSlope(f);
    if (slope) this.slopes.push(slope);
    const point = readSpeedPoint(f);
    if (point) this.speedPoints.push(point);
    if (isFailedTrainingFinding(f)) this.failedTrials ??= new Set();
    if (isFailedTrial(f)) this.failedTrials!.add(f.trialId);
    const cf = readCounterfactual(f);
    if (cf) this.counterfactuals.push(cf);
    const ratio = readLossTimeRatio(f);
    if (ratio !== undefined) this.lossTimeRatios.push(ratio);
  }

  private reportData(): ReportData {
    const name = this.options.sweepName ?? this.options.sweepId;
    return {
      sweepId: this.options.sweepId,
      sweepName: name,
      title: this.options.title ?? `dynlab report: ${name}`,
      axes: this.axes,
      trials: this.trials,
      groups: [...this.groups.values()],
      series: this.store.series,
      sigmoids: this.sigmoids,
      convergence: assignSlopes(this.slopes, this.regressorsVary()),
      speedPoints: this.speedPoints,
      failedTrials: this.failedTrials,
      counterfactuals: this.counterfactuals,
      lossTimeRatios: this.lossTimeRatios,
      findings: this.digest.result(),
      unplottedTrials: this.store.skipped,
    };
  }

  /** Which regressors vary: across the analyzer's points when there are any, else across the swept axes. */
  private regressorsVary(): { norm: boolean; frequency: boolean } {
    if (this.speedPoints.length > 0)
      return {
        norm: new Set(this.speedPoints.map((p) => p.norm)).size > 1,
        frequency: new Set(this.speedPoints.map((p) => p.frequency)).size > 1,
      };
    return {
      norm: regressorAxis(this.axes, 'norm') !== undefined,
      frequency: regressorAxis(this.axes, 'frequency') !== undefined,
    };
  }

  private async renderFigures(
    d: ReportData,
  ): Promise<{ figures: RenderedFigure[]; warnings: ResultFiles['plotWarnings'] }> {
    const figures: RenderedFigure[] = [];
    const warnings: ResultFiles['plotWarnings'] = [];
    for (const f of reportFigures(d)) {
      try {
        const r = await renderSvg(f.spec, f.id);
        for (const message of r.warnings) warnings.push({ figure: f.id, message });
        figures.push({ id: f.id, title: f.title, caption: f.caption, svg: r.svg });
      } catch (err) {
        this.logger.error('plot failed', { figure: f.id, error: (err as Error).message });
        figures.push({
          id: f.id,
          title: f.title,
          caption: f.caption,
          error: (err as Error).message,
        });
      }
    }
    for (const w of warnings)
      this.logger.warn('plot warning', { figure: w.figure, message: w.message });
    return { figures, warnings };
  }
}
