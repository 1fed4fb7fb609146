/** Reading spec files: YAML or JSON, with syntax errors reported with their line and column. */
import { readFile } from 'node:fs/promises';
import { ValidationError, NotFoundError } from '@dynlab/core';
import { parseDocument } from 'yaml';

/** Parses YAML (JSON is YAML) text into plain data; syntax errors name the line and column. */
export function parseSpecText(text: string, source = 'spec'): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(
      doc.errors.map((e) => ({
        path: `${source}:${e.linePos?.[0]?.line ?? 0}:${e.linePos?.[0]?.col ?? 0}`,
        message: e.message.split('\n')[0] ?? e.message,
      })),
      { what: 'spec file' },
    );
  }
  return doc.toJS() as unknown;
}

/** Reads and parses a spec file. */
export async function loadSpecFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new NotFoundError(
      `cannot read spec file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { file },
    );
  }
  return parseSpecText(text, file);
}
