/**
 * `telemetry.parquet` in long format (trial, step, quantity, index, value), written as it arrives:
 * rows go into fixed-size column buffers and each full buffer becomes one row group on disk, so a
 * sweep of any size is exported in memory bounded by the row-group size, not by the sweep.
 */
import type { TelemetryColumns } from '@dynlab/spec';
import { fixEmptyRowGroups } from './empty-parquet';
import { parquetLibrary } from './parquet-library';
import { quantityMatrices } from './telemetry-quantities';

type Writer = InstanceType<Awaited<ReturnType<typeof parquetLibrary>>['ParquetWriter']>;

/** Column names of `telemetry.parquet`, in order. */
export const telemetryColumnNames = ['trial', 'step', 'quantity', 'index', 'value'] as const;

/** Streams trials' telemetry into one Parquet file, one row group per `rowGroupRows` rows. */
export class TelemetryParquetWriter {
  private readonly trial: string[];
  private readonly quantity: string[];
  private readonly step: Int32Array;
  private readonly index: Int32Array;
  private readonly value: Float64Array;
  private used = 0;
  private rows = 0;
  private groups = 0;

  private constructor(
    private readonly writer: Writer,
    private readonly finishFile: () => void | Promise<void>,
    private readonly path: string,
    readonly rowGroupRows: number,
  ) {
    this.trial = new Array<string>(rowGroupRows);
    this.quantity = new Array<string>(rowGroupRows);
    this.step = new Int32Array(rowGroupRows);
    this.index = new Int32Array(rowGroupRows);
    this.value = new Float64Array(rowGroupRows);
  }

  /** Creates (or truncates) the file at `path` and writes its header. */
  static async open(path: string, rowGroupRows: number): Promise<TelemetryParquetWriter> {
    const pq = await parquetLibrary();
    const file = pq.fileWriter(path);
    const schema = pq.schemaFromColumnData({
      columnData: [
        { name: 'trial', data: [], type: 'STRING', nullable: false },
        { name: 'step', data: [], type: 'INT32', nullable: false },
        { name: 'quantity', data: [], type: 'STRING', nullable: false },
        { name: 'index', data: [], type: 'INT32', nullable: false },
        { name: 'value', data: [], type: 'DOUBLE', nullable: false },
      ],
    });
    const writer = new pq.ParquetWriter({
      writer: file,
      schema,
      createdBy: 'dynlab report (hyparquet-writer)',
    });
    return new TelemetryParquetWriter(
      writer,
      () => writer.finish(),
      path,
      Math.max(1, Math.floor(rowGroupRows)),
    );
  }

  /** Appends every recorded value of one trial (quantity by quantity, step by step, index by index). */
  async add(trialId: string, t: TelemetryColumns): Promise<void> {
    for (const m of quantityMatrices(t)) {
      for (let r = 0; r < t.steps.length; r++) {
        const step = t.steps[r]!;
        for (let j = 0; j < m.width; j++) {
          if (this.used === this.rowGroupRows) await this.flush();
          const k = this.used++;
          this.trial[k] = trialId;
          this.quantity[k] = m.quantity;
          this.step[k] = step;
          this.index[k] = j;
          this.value[k] = m.values[r * m.width + j]!;
        }
      }
    }
  }

  /** Writes the footer; returns how many rows and row groups the file holds. */
  async finish(): Promise<{ rows: number; rowGroups: number }> {
    await this.flush();
    await this.finishFile();
    if (this.rows === 0) await fixEmptyRowGroups(this.path);
    return { rows: this.rows, rowGroups: this.groups };
  }

  private async flush(): Promise<void> {
    const n = this.used;
    if (n === 0) return;
    const full = n === this.rowGroupRows;
    await this.writer.write({
      columnData: [
        { name: 'trial', data: full ? this.trial : this.trial.slice(0, n) },
        { name: 'step', data: this.step.subarray(0, n) },
        { name: 'quantity', data: full ? this.quantity : this.quantity.slice(0, n) },
        { name: 'index', data: this.index.subarray(0, n) },
        { name: 'value', data: this.value.subarray(0, n) },
      ],
      rowGroupSize: n,
    });
    this.rows += n;
    this.groups++;
    this.used = 0;
  }
}
