/**
 * Swept values arrive as JSON text by axis path (`CompiledTrial.params`). These helpers turn them
 * into what tables and plots need: short axis labels, readable values, and numbers where a value
 * is a number (or a one-element list of numbers, as an explicit initial weight is written).
 */

/** Parses a param's JSON text; text that is not JSON is returned as it is. */
export function parseParam(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The number a param holds: a finite number, or a list holding exactly one finite number. */
export function scalarParam(text: string | undefined): number | undefined {
  const v = parseParam(text);
  const x = Array.isArray(v) && v.length === 1 ? (v[0] as unknown) : v;
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

/** A value as people read it: strings unquoted, numbers (and one-number lists) compact, the rest as JSON. */
export function formatParam(text: string | undefined): string {
  const v = parseParam(text);
  const x = scalarParam(text);
  if (typeof v === 'string') return v;
  if (x !== undefined) return formatNumber(x);
  return JSON.stringify(v) ?? '';
}

/** Numbers with at most 4 significant digits, without trailing zeros. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3))
    return v.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}

/**
 * Short labels for axis paths: the last segment (`learningRate`), or the last two
 * (`features[1].norm`) where the last one alone is ambiguous. Keeps legends readable.
 */
export function axisLabels(axes: readonly string[]): Map<string, string> {
  const segments = (p: string) => p.split('.');
  const tail = (p: string, n: number) => segments(p).slice(-n).join('.');
  const out = new Map<string, string>();
  for (const a of axes) {
    let n = 1;
    while (n < segments(a).length && axes.some((b) => b !== a && tail(b, n) === tail(a, n))) n++;
    out.set(a, tail(a, n));
  }
  return out;
}

/** `label=value, ...` for the given axes (those present in `params`). */
export function paramsLabel(
  params: Readonly<Record<string, string>>,
  axes: readonly string[],
  labels: ReadonlyMap<string, string>,
): string {
  const parts = axes
    .filter((a) => params[a] !== undefined)
    .map((a) => `${labels.get(a) ?? a}=${formatParam(params[a])}`);
  return parts.length > 0 ? parts.join(', ') : 'all trials';
}
