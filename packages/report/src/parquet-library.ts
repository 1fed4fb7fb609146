/**
 * The one place that loads the Parquet writer (hyparquet-writer). It is an ES module and dynlab
 * compiles to CommonJS, so it is loaded with a dynamic `import()` once and shared.
 */
export type ParquetLibrary = typeof import('hyparquet-writer', {
  with: { 'resolution-mode': 'import' }
});

let loading: Promise<ParquetLibrary> | undefined;

/** The hyparquet-writer module (node build: includes `fileWriter`), loaded on first use. */
export function parquetLibrary(): Promise<ParquetLibrary> {
  loading ??= import('hyparquet-writer');
  return loading;
}
