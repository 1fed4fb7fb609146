/**
 * The run-time hook to the optional native backend (`@dynlab/native`, an N-API addon over the
 * system BLAS). It is loaded with a computed module name inside try/catch so that TypeScript does
 * not resolve it and the engine builds, installs and runs where the addon does not exist (it needs a
 * compiler and a BLAS); the reason it is missing is reported with the backend choice.
 */
import type { NativeModule } from './population-program';

/** The native module, or why it cannot be used here. */
export interface NativeLoad {
  module?: NativeModule;
  reason: string;
}

let cached: NativeLoad | undefined;

/** Loads `@dynlab/native` once per thread; never throws. */
export function loadNative(): NativeLoad {
  if (cached) return cached;
  const name = ['@dynlab', 'native'].join('/');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(name) as Partial<NativeModule>;
    if (typeof mod.nativeStatus !== 'function' || typeof mod.createNativeProgram !== 'function') {
      cached = { reason: `${name} does not export nativeStatus and createNativeProgram` };
    } else {
      const status = mod.nativeStatus();
      cached = status.available ? { module: mod as NativeModule, reason: status.reason } : { reason: status.reason || `${name} reports it is unavailable` };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    cached = { reason: `require('${name}') failed: ${e.code ? `${e.code}: ` : ''}${String(e.message).split('\n')[0]}` };
  }
  return cached;
}
