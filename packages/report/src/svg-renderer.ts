/**
 * Renders a Vega-Lite spec to an SVG string in Node, with no browser and no canvas: Vega-Lite
 * compiles to Vega, a headless Vega view (`renderer: 'none'`) lays the scene out and serializes
 * it. Ids inside the SVG (clip paths, gradients) get a per-figure prefix, because several SVGs
 * inlined in one page share one id space. Warnings are collected, not printed.
 */
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

type Vega = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLite = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });

let loading: Promise<[Vega, VegaLite]> | undefined;

/** The look shared by every figure. */
const theme = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#d0d0d0' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#ececec' },
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    labelLimit: 560,
    titleLimit: 320,
  },
  header: { labelFontSize: 12, labelLimit: 300 },
  range: { category: { scheme: 'tableau10' } },
} as const;

/** An SVG and the warnings Vega-Lite and Vega gave while making it. */
export interface RenderedSvg {
  svg: string;
  warnings: string[];
}

/** Renders `spec` to SVG; `idPrefix` (letters, digits, dashes) makes its ids unique in a page. */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<RenderedSvg> {
  loading ??= Promise.all([import('vega'), import('vega-lite')]);
  const [vega, vl] = await loading;
  const warnings: string[] = [];
  const collect = (...args: readonly unknown[]) => warnings.push(args.map(String).join(' '));
  const logger = {
    level(): never {
      return this as never;
    },
    error: (...a: readonly unknown[]) => collect('error:', ...a),
    warn: collect,
    info: () => undefined,
    debug: () => undefined,
  };
  const compiled = vl.compile(
    { ...spec, config: { ...theme, ...(spec.config ?? {}) } } as TopLevelSpec,
    { logger: logger as never },
  ).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    logLevel: vega.Warn,
    logger: logger as never,
  });
  try {
    const svg = await view.toSVG();
    return { svg: prefixIds(svg, idPrefix), warnings };
  } finally {
    view.finalize();
  }
}

/** Prefixes every `id="..."` and its references (`url(#...)`, `href="#..."`). */
export function prefixIds(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
  if (ids.size === 0) return svg;
  return svg
    .replace(/(\sid=")([^"]+)"/g, (_m, head: string, id: string) => `${head}${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (m, id: string) => (ids.has(id) ? `url(#${prefix}-${id})` : m))
    .replace(/(href=")#([^"]+)"/g, (m, head: string, id: string) =>
      ids.has(id) ? `${head}#${prefix}-${id}"` : m,
    );
}
