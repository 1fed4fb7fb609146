/**
 * A small reader of the Prometheus text exposition format (0.0.4), so that tests can scrape a
 * service the way Prometheus does and assert on exact series, without pulling in a parser
 * library. It reads what prom-client writes: `# HELP`, `# TYPE`, samples with quoted, escaped
 * label values, and `+Inf`/`-Inf`/`NaN` values in any case (prom-client writes `Nan`; Prometheus,
 * like Go's ParseFloat, accepts it).
 */
import { DynlabError, ErrorCode } from '@dynlab/core';

/** One sample line. */
export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape. */
export interface Exposition {
  samples: ExpositionSample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  /** `# HELP` of each metric family. */
  help: Map<string, string>;
}

const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const labelRe = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/** Parses a scrape; a line that is not valid exposition text throws a DynlabError (code DECODE) naming it. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const fail = (why: string) =>
      new DynlabError(ErrorCode.Decode, `exposition line ${i + 1}: ${why}: ${line}`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m) (m[1] === 'HELP' ? out.help : out.types).set(m[2]!, m[3]!);
      return;
    }
    const m = sampleRe.exec(line);
    if (!m) throw fail('not a sample');
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    labelRe.lastIndex = 0;
    while (labelRe.lastIndex < body.length) {
      const l = labelRe.exec(body);
      if (!l) throw fail('bad labels');
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = m[4]!.toLowerCase();
    const value =
      raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') throw fail('bad value');
    out.samples.push({ name: m[1]!, labels, value });
  });
  return out;
}

/** The samples called `name` whose labels include all of `match`. */
export function findSamples(
  exposition: Exposition,
  name: string,
  match: Record<string, string> = {},
): ExpositionSample[] {
  return exposition.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}
