/**
 * A guarded fix-up for Parquet files with no row group. hyparquet-writer 0.17 encodes an empty
 * Thrift list with element type 0 (its fallback `elemType ?? BYTE` never fires because the type
 * starts at 0), so a file with zero row groups has `row_groups` written as the bare byte 0x00.
 * pyarrow and recent polars accept it; arrow-rs (DataFusion, parquet-wasm) and older polars
 * reject it. The canonical encoding of an empty list of structs is 0x0C, so this rewrites that one
 * byte, and only when the footer has exactly the expected shape. Remove once the writer is fixed.
 */
import { open } from 'node:fs/promises';

/** The bytes around `row_groups` in an empty file: num_rows = 0, empty row_groups, then created_by. */
const pattern = [0x16, 0x00, 0x19, 0x00, 0x28];

/** Rewrites the empty `row_groups` list header of a zero-row file; returns whether it did. */
export async function fixEmptyRowGroups(path: string): Promise<boolean> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const tail = Buffer.alloc(8);
    await fh.read(tail, 0, 8, size - 8);
    const footerLength = tail.readUInt32LE(0);
    if (tail.toString('latin1', 4) !== 'PAR1' || footerLength + 12 > size) return false;
    const footer = Buffer.alloc(footerLength);
    const start = size - 8 - footerLength;
    await fh.read(footer, 0, footerLength, start);
    const hits: number[] = [];
    for (let i = 0; i + pattern.length <= footer.length; i++)
      if (pattern.every((b, k) => footer[i + k] === b)) hits.push(i);
    if (hits.length !== 1) return false;
    await fh.write(Buffer.from([0x0c]), 0, 1, start + hits[0]! + 3);
    return true;
  } finally {
    await fh.close();
  }
}
