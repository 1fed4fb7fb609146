/**
 * Loading analyzer plug-ins named in a service's configuration, by package name or by file path.
 *
 * A plugin is a module whose default export (or export named `analyzer`) is an analyzer
 * definition. A single CommonJS file dropped anywhere may `require('@dynlab/analysis')` and
 * `require('zod')` without installing them: when its own resolution fails, the host lends it the
 * host's copies (the way an editor lends its API module to extensions), so the plugin builds its
 * options schema with the same zod the host validates with. ES-module plugins load through
 * `import()` and must resolve their imports themselves.
 */
import { existsSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, NotFoundError } from '@dynlab/core';
import { getBuiltinAnalyzer } from './builtin-analyzers';
import {
  definitionIssues,
  isAnalyzerDefinition,
  type AnyAnalyzerDefinition,
} from './define-analyzer';

/** Where to look for plug-ins. */
export interface LoadOptions {
  /** Directory that relative paths and package names are resolved from. @default process.cwd() */
  cwd?: string;
}

/** Modules the host lends to plug-in files that cannot resolve them. */
const lent = ['@dynlab/analysis', '@dynlab/spec', '@dynlab/core', 'zod'];
const pluginDirs = new Set<string>();
let hooked = false;

type ResolveFilename = (
  request: string,
  parent: { filename?: string | null } | undefined,
  isMain: boolean,
  options?: unknown,
) => string;

function lendHostModules(dir: string): void {
  pluginDirs.add(dir + path.sep);
  if (hooked) return;
  hooked = true;
  const M = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = M._resolveFilename;
  M._resolveFilename = function (request, parent, isMain, options) {
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (err) {
      const from = parent?.filename ?? '';
      const name = lent.find((m) => request === m || request.startsWith(m + '/'));
      if (!name || ![...pluginDirs].some((d) => from.startsWith(d))) throw err;
      return request === '@dynlab/analysis'
        ? path.join(__dirname, 'index.js')
        : require.resolve(request);
    }
  };
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || specifier.startsWith('file:') || path.isAbsolute(specifier);
}

/**
 * Loads a plug-in by package name or file path and returns its analyzer definition. Throws a
 * NotFoundError when the module cannot be found, and a ConfigError when it loads but exports no
 * definition (naming what is wrong with the closest candidate) or fails while loading.
 */
export async function loadAnalyzerModule(
  specifier: string,
  opts: LoadOptions = {},
): Promise<AnyAnalyzerDefinition> {
  const cwd = opts.cwd ?? process.cwd();
  let resolved: string;
  if (isPath(specifier)) {
    resolved = specifier.startsWith('file:')
      ? new URL(specifier).pathname
      : path.resolve(cwd, specifier);
    if (!existsSync(resolved))
      throw new NotFoundError(`analyzer module '${specifier}' not found (no file at ${resolved})`, {
        specifier,
        resolved,
      });
  } else {
    try {
      resolved = require.resolve(specifier, { paths: [cwd] });
    } catch (err) {
      throw new NotFoundError(
        `analyzer module '${specifier}' not found: not a built-in analyzer, not a file path (start it with ./ or /), and not a package installed under ${cwd}`,
        { specifier, cause: String((err as Error).message) },
      );
    }
  }
  lendHostModules(path.dirname(resolved));
  let mod: unknown;
  try {
    mod = resolved.endsWith('.mjs')
      ? await import(pathToFileURL(resolved).href)
      : requireOrImport(resolved);
    if (mod instanceof Promise) mod = await mod;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof NotFoundError) throw err;
    throw new ConfigError([
      { path: specifier, message: `failed to load: ${(err as Error).message ?? String(err)}` },
    ]);
  }
  const m = (mod ?? {}) as Record<string, unknown>;
  const nested = (m.default ?? {}) as Record<string, unknown>;
  const candidates = [m.default, m.analyzer, m, nested.default, nested.analyzer];
  const found = candidates.find(isAnalyzerDefinition);
  if (found) return found;
  const closest =
    [m.default, m.analyzer].find((c) => c !== undefined && c !== null && typeof c === 'object') ??
    ('name' in m || 'setup' in m ? m : undefined);
  const why = closest
    ? definitionIssues(closest)
        .map((i) => `${i.path || 'export'}: ${i.message}`)
        .join('; ')
    : 'it has neither a default export nor an export named analyzer';
  throw new ConfigError([
    {
      path: specifier,
      message: `does not export an analyzer definition (expected a default export or an export named 'analyzer' made with defineAnalyzer): ${why}`,
    },
  ]);
}

/** Loads CommonJS with the host's `require` (so the lent modules resolve), ES modules with `import()`. */
function requireOrImport(file: string): unknown {
  try {
    return Module.createRequire(__filename)(file) as unknown;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM')
      return import(pathToFileURL(file).href);
    throw err;
  }
}

/** A built-in analyzer by name, else a plug-in by package name or path (see `loadAnalyzerModule`). */
export async function resolveAnalyzer(
  nameOrSpecifier: string,
  opts: LoadOptions = {},
): Promise<AnyAnalyzerDefinition> {
  return getBuiltinAnalyzer(nameOrSpecifier) ?? loadAnalyzerModule(nameOrSpecifier, opts);
}
