/**
 * Test-side readers that share no code with the writers: Parquet through parquet-wasm (the Rust
 * `parquet`/`arrow-rs` crates compiled to WebAssembly) into Apache Arrow JS, and CSV through a
 * small RFC 4180 parser written here.
 */
import { readFileSync } from 'node:fs';
import { readParquet, ParquetFile } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';

/** A Parquet file as read by arrow-rs: its schema, its rows and its row-group count. */
export interface ReadTable {
  columns: string[];
  types: string[];
  nullable: boolean[];
  rows: Record<string, unknown>[];
  rowGroups: number;
}

/** Reads a whole Parquet file with parquet-wasm and Arrow JS. */
export async function readParquetFile(path: string): Promise<ReadTable> {
  const bytes = readFileSync(path);
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const file = await ParquetFile.fromFile(new Blob([bytes]));
  const rowGroups = file.metadata().numRowGroups();
  file.free();
  return {
    columns: table.schema.fields.map((f) => f.name),
    types: table.schema.fields.map((f) => String(f.type)),
    nullable: table.schema.fields.map((f) => f.nullable),
    rows: table.toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON()),
    rowGroups,
  };
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, line breaks inside quotes) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
