/**
 * CSV as pandas, polars and spreadsheets read it (RFC 4180): fields quoted only when they must be,
 * empty for missing values, `NaN`/`inf`/`-inf` for non-finite numbers. Lines are buffered and
 * written in large chunks so a long table costs one buffer, not one string.
 */
import { open } from 'node:fs/promises';

/** A cell: missing values are null or undefined. */
export type Cell = string | number | boolean | null | undefined;

/** One field, quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number')
    return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Writes a header and rows to `path` (created or truncated), with `\n` line ends. */
export async function writeCsv(
  path: string,
  header: readonly string[],
  rows: Iterable<readonly Cell[]>,
): Promise<void> {
  const fh = await open(path, 'w');
  try {
    let buf = header.map(csvField).join(',') + '\n';
    for (const row of rows) {
      buf += row.map(csvField).join(',') + '\n';
      if (buf.length > 1 << 20) {
        await fh.write(buf);
        buf = '';
      }
    }
    await fh.write(buf);
  } finally {
    await fh.close();
  }
}
