/**
 * The run-time hook to the optional native backend (`@dynlab/native`, an N-API addon over the
 * system BLAS). It is loaded with a computed module name inside try/catch so that TypeScript does
 * not resolve it and the engine builds, installs and runs where the addon does not exist (it needs a
 * compiler and a BLAS); the reason it is missing is reported with the backend choice.
 *
 * The engine does not depend on the package (the package is optional and its build may fail), so
 * plain `require` from here finds it only where it was installed beside the engine. The lookup
 * order: ordinary resolution; then from the process's working directory and main module (a
 * service that depends on `@dynlab/native`); then the sibling workspace package
 * (`packages/native`, when the engine runs from the monorepo).
 */
import * as path from 'node:path';
import type { NativeModule } from './population-program';

/** The native module, or why it cannot be used here. */
export interface NativeLoad {
  module?: NativeModule;
  reason: string;
}

const moduleName = ['@dynlab', 'native'].join('/');
let cached: NativeLoad | undefined;

function locate(): string {
  const bases = [
    process.cwd(),
    require.main?.filename ? path.dirname(require.main.filename) : undefined,
  ].filter((b): b is string => !!b);
  try {
    return require.resolve(moduleName, { paths: [__dirname, ...bases] });
  } catch {
    return require.resolve(path.resolve(__dirname, '..', '..', 'native'));
  }
}

/** Loads `@dynlab/native` once per thread; never throws. */
export function loadNative(): NativeLoad {
  if (cached) return cached;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(locate()) as Partial<NativeModule>;
    if (typeof mod.nativeStatus !== 'function' || typeof mod.createNativeProgram !== 'function') {
      cached = { reason: `${moduleName} does not export nativeStatus and createNativeProgram` };
    } else {
      const status = mod.nativeStatus();
      cached = status.available
        ? { module: mod as NativeModule, reason: status.reason }
        : { reason: status.reason || `${moduleName} reports it is unavailable` };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    cached = {
      reason: `require('${moduleName}') failed: ${e.code ? `${e.code}: ` : ''}${String(e.message).split('\n')[0]}`,
    };
  }
  return cached;
}
