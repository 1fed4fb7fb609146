/**
 * The one-row-per-trial table, built once as typed columns and written twice (CSV and Parquet)
 * so the two files cannot disagree. Each swept parameter is its own column, named by its axis
 * path and typed by what the sweep put in it (numbers, booleans, text; lists stay JSON text).
 */
import { fixEmptyRowGroups } from './empty-parquet';
import { parquetLibrary } from './parquet-library';
import { parseParam } from './param-values';
import type { TrialRecord } from './report-data';
import { writeCsv, type Cell } from './csv';

/** Parquet type of a column (hyparquet-writer's names). */
export type ColumnType = 'STRING' | 'DOUBLE' | 'INT32' | 'INT64' | 'BOOLEAN';

/** A column of the trial table. */
export interface TableColumn {
  name: string;
  type: ColumnType;
  values: (string | number | boolean | null)[];
}

/** Names of the fixed columns, in order; the axis columns sit between `seed` and `status`. */
export const trialColumnsBefore = ['trial', 'group', 'seed'] as const;
export const trialColumnsAfter = [
  'status',
  'backend',
  'final_loss',
  'final_error',
  'learning_time',
  'learning_time_source',
  'steps_done',
  'wall_s',
  'failure',
] as const;

/** Builds the table's columns from the trial records (learning times already resolved). */
export function trialColumns(
  trials: readonly TrialRecord[],
  axes: readonly string[],
): TableColumn[] {
  const col = (
    name: string,
    type: ColumnType,
    get: (t: TrialRecord) => string | number | boolean | null | undefined,
  ): TableColumn => ({
    name,
    type,
    values: trials.map((t) => get(t) ?? null),
  });
  return [
    col('trial', 'STRING', (t) => t.id),
    col('group', 'INT32', (t) => t.group),
    col('seed', 'INT64', (t) => t.seed),
    ...axes.map((a) =>
      paramColumn(
        a,
        trials.map((t) => t.params[a]),
      ),
    ),
    col('status', 'STRING', (t) => t.status),
    col('backend', 'STRING', (t) => t.backend),
    col('final_loss', 'DOUBLE', (t) => t.finalLoss),
    col('final_error', 'DOUBLE', (t) => t.finalError),
    col('learning_time', 'DOUBLE', (t) => t.learningTime),
    col('learning_time_source', 'STRING', (t) => t.learningTimeSource),
    col('steps_done', 'INT32', (t) => t.stepsDone),
    col('wall_s', 'DOUBLE', (t) => t.wallS),
    col('failure', 'STRING', (t) => t.failure),
  ];
}

/** A swept parameter's column: typed by the values the sweep gave it. */
export function paramColumn(name: string, texts: readonly (string | undefined)[]): TableColumn {
  const parsed = texts.map(parseParam);
  const present = parsed.filter((v) => v !== undefined && v !== null);
  const all = (p: (v: unknown) => boolean) => present.length > 0 && present.every(p);
  const missing = (v: unknown) => v === undefined || v === null;
  if (all((v) => typeof v === 'number' && Number.isFinite(v)))
    return { name, type: 'DOUBLE', values: parsed.map((v) => (missing(v) ? null : (v as number))) };
  if (all((v) => typeof v === 'boolean'))
    return {
      name,
      type: 'BOOLEAN',
      values: parsed.map((v) => (missing(v) ? null : (v as boolean))),
    };
  if (all((v) => typeof v === 'string'))
    return { name, type: 'STRING', values: parsed.map((v) => (missing(v) ? null : (v as string))) };
  return { name, type: 'STRING', values: texts.map((t) => t ?? null) };
}

/** Writes the columns as CSV. */
export function writeTableCsv(path: string, columns: readonly TableColumn[]): Promise<void> {
  const rows = columns[0]?.values.length ?? 0;
  function* lines(): Generator<Cell[]> {
    for (let i = 0; i < rows; i++) yield columns.map((c) => c.values[i]);
  }
  return writeCsv(
    path,
    columns.map((c) => c.name),
    lines(),
  );
}

/** Writes the columns as one Parquet file (row groups of at most 100,000 rows). */
export async function writeTableParquet(
  path: string,
  columns: readonly TableColumn[],
): Promise<void> {
  const pq = await parquetLibrary();
  await pq.parquetWrite({
    writer: pq.fileWriter(path),
    createdBy: 'dynlab report (hyparquet-writer)',
    rowGroupSize: 100_000,
    columnData: columns.map((c) => {
      const nullable = c.values.some((v) => v === null);
      const data =
        c.type === 'INT64'
          ? c.values.map((v) => (v === null ? null : BigInt(v as number)))
          : c.values;
      return { name: c.name, type: c.type, nullable, data };
    }),
  });
  if ((columns[0]?.values.length ?? 0) === 0) await fixEmptyRowGroups(path);
}
