/**
 * Where the worker entry lives, for hosts that start it by file name (piscina's `filename`), so
 * that no service hard-codes the engine's dist layout.
 */
import * as path from 'node:path';

/** Absolute path of `dist/population-worker.js`, the piscina entry (see population-worker.ts). */
export const populationWorkerPath: string = path.join(__dirname, 'population-worker.js');
