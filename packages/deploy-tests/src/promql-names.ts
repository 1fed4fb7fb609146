/**
 * A loose reader of PromQL that finds the dynlab metric names a query uses. It drops string
 * literals (label values, regexes) and takes every identifier that starts with `dynlab_`: in a
 * PromQL expression those can only be metric names, since label and function names never do.
 */

/** The `dynlab_*` metric names in a PromQL expression, in order of first use. */
export function dynlabNamesIn(promql: string): string[] {
  const code = promql.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const out: string[] = [];
  for (const m of code.matchAll(/(?<![A-Za-z0-9_:])dynlab_[A-Za-z0-9_:]*/g))
    if (!out.includes(m[0])) out.push(m[0]);
  return out;
}
