/**
 * The recorded quantities of a `TelemetryColumns` as uniform (name, width, values) matrices, with
 * their shapes checked once. The long-format Parquet file and the plot store both walk this list,
 * so a quantity added to the telemetry vocabulary is added here and nowhere else.
 */
import { DynlabError, ErrorCode } from '@dynlab/core';
import type { TelemetryColumns } from '@dynlab/spec';

/** Quantity names as they appear in `telemetry.parquet`'s `quantity` column, in file order. */
export const telemetryQuantities = [
  'loss',
  'error',
  'gradShare',
  'probeOutputs',
  'paramNorms',
  'deadUnits',
  'trainOutputs',
] as const;
export type TelemetryQuantity = (typeof telemetryQuantities)[number];

/** One recorded quantity: row i (of `width` values, row-major) belongs to `steps[i]`. */
export interface QuantityMatrix {
  quantity: TelemetryQuantity;
  width: number;
  values: readonly number[];
}

/**
 * The non-empty quantities of a series with their widths. Throws a SHAPE error when a matrix's
 * length is not rows x width, so a malformed series is refused before anything is written.
 */
export function quantityMatrices(t: TelemetryColumns): QuantityMatrix[] {
  const rows = t.steps.length;
  const out: QuantityMatrix[] = [];
  for (const quantity of telemetryQuantities) {
    const values = t[quantity];
    if (values.length === 0) continue;
    const width = declaredWidth(t, quantity, rows);
    if (rows === 0 || width < 1 || !Number.isInteger(width) || values.length !== rows * width) {
      throw new DynlabError(
        ErrorCode.Shape,
        `telemetry ${quantity}: expected ${rows} rows x ${width} values, got ${values.length}`,
        {
          details: {
            quantity,
            rows: String(rows),
            width: String(width),
            length: String(values.length),
          },
        },
      );
    }
    out.push({ quantity, width, values });
  }
  return out;
}

function declaredWidth(t: TelemetryColumns, q: TelemetryQuantity, rows: number): number {
  switch (q) {
    case 'loss':
    case 'error':
      return 1;
    case 'gradShare':
      return t.features;
    case 'probeOutputs':
      return t.probes;
    case 'paramNorms':
      return t.layers;
    case 'trainOutputs':
      return t.trainPoints;
    case 'deadUnits':
      return rows === 0 ? 0 : t.deadUnits.length / rows;
  }
}
