/**
 * Reads the Grafana dashboards under `deploy/grafana/dashboards` and lists every panel query with
 * Grafana's variables replaced, ready to send to Prometheus' HTTP API. Tests use it to prove that
 * every panel returns data from a real run (end to end) and that every metric a panel names exists
 * (unit). Dashboards stay plain JSON files, editable in Grafana and provisioned as they are.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynlabError, ErrorCode } from '@dynlab/core';

/** The dashboards folder of this repository (`deploy/grafana/dashboards`). */
export const defaultDashboardsDir = resolve(
  __dirname,
  '..',
  '..',
  '..',
  'deploy',
  'grafana',
  'dashboards',
);

/** One query of one panel. */
export interface DashboardQuery {
  /** The dashboard's file name, e.g. `overview.json`. */
  file: string;
  /** The dashboard's uid. */
  dashboard: string;
  panelId: number;
  panelTitle: string;
  refId: string;
  /** The query as written in the dashboard. */
  raw: string;
  /** The query with every variable replaced: PromQL Prometheus accepts as it is. */
  expr: string;
}

/** Options of {@link listDashboardQueries}. */
export interface DashboardQueryOptions {
  /** The value of the `sweep` selector (a sweep id; `.*` for all sweeps). */
  sweep: string;
  /** What `$__rate_interval` becomes; make it at least four scrape intervals. @default '1m' */
  rateInterval?: string;
  /** What `$__interval` becomes. @default '15s' */
  interval?: string;
  /** What `$__range` becomes. @default '1h' */
  range?: string;
  /** Folder of the dashboard JSON files. @default {@link defaultDashboardsDir} */
  dir?: string;
}

interface PanelJson {
  id?: number;
  title?: string;
  type?: string;
  panels?: PanelJson[];
  targets?: { refId?: string; expr?: string }[];
}

/** The dashboards in `dir` as parsed JSON, by file name (sorted). */
export function readDashboards(dir = defaultDashboardsDir): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    out.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>);
  }
  return out;
}

/** Every panel query of every dashboard, variables substituted; see the module header. */
export function listDashboardQueries(opts: DashboardQueryOptions): DashboardQuery[] {
  const vars: Record<string, string> = {
    sweep: opts.sweep,
    __rate_interval: opts.rateInterval ?? '1m',
    __interval: opts.interval ?? '15s',
    __range: opts.range ?? '1h',
  };
  const out: DashboardQuery[] = [];
  for (const [file, dash] of readDashboards(opts.dir)) {
    const uid = String(dash.uid ?? '');
    const walk = (panels: PanelJson[] | undefined) => {
      for (const panel of panels ?? []) {
        walk(panel.panels);
        for (const t of panel.targets ?? []) {
          if (!t.expr) continue;
          out.push({
            file,
            dashboard: uid,
            panelId: panel.id ?? 0,
            panelTitle: panel.title ?? '',
            refId: t.refId ?? '',
            raw: t.expr,
            expr: substitute(t.expr, vars, `${file} panel ${panel.id}`),
          });
        }
      }
    };
    walk(dash.panels as PanelJson[] | undefined);
  }
  return out;
}

/** Replaces `$name`, `${name}` and `[[name]]`; an unknown variable throws (a dashboard may use only these). */
function substitute(expr: string, vars: Record<string, string>, where: string): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]/g,
    (whole, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      const value = vars[name];
      if (value === undefined)
        throw new DynlabError(ErrorCode.Config, `${where}: unknown dashboard variable ${whole}`, {
          details: { variable: name },
        });
      return value;
    },
  );
}
