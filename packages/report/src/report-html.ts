/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG, no script, no external
 * reference) so it opens anywhere with no network, mails as an attachment and survives archiving.
 * A Content-Security-Policy forbids every fetch, which makes "no network" checkable.
 */
import type { Finding } from '@dynlab/spec';
import type { FigureId } from './figure';
import { formatNumber } from './param-values';
import type { ReportData } from './report-data';

/** A figure rendered to SVG (or the reason it could not be). */
export interface RenderedFigure {
  id: FigureId;
  title: string;
  caption: string;
  svg?: string;
  error?: string;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const style = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;max-width:1280px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 6px}
.meta{color:#555;margin:0 0 16px}nav ul{padding-left:18px;columns:2}
figure{margin:0 0 28px;padding:12px 0;border-top:1px solid #ddd}.plot-svg{overflow-x:auto}.plot-svg svg{display:block}
figcaption{color:#444;font-style:italic;margin-top:6px}.plot-error{color:#a00}
table{border-collapse:collapse;font-size:13px;margin:6px 0 18px}th,td{border-bottom:1px solid #e4e4e4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
td code{white-space:nowrap}.sev-alert{color:#b00;font-weight:bold}.sev-warning{color:#b60}.ev{font-family:monospace;font-size:12px;color:#333}
`;

/** The whole page. */
export function reportHtml(
  d: ReportData,
  figures: readonly RenderedFigure[],
  files: readonly { name: string; what: string }[],
  generatedAt: Date,
): string {
  const byStatus = new Map<string, number>();
  const backends = new Set<string>();
  for (const t of d.trials) {
    byStatus.set(t.status, (byStatus.get(t.status) ?? 0) + 1);
    if (t.backend) backends.add(t.backend);
  }
  const statusText = [...byStatus.entries()].map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
  const parts: string[] = [];
  parts.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(d.title)}</title><style>${style}</style></head><body>`,
    `<header><h1>${escapeHtml(d.title)}</h1>`,
    `<p class="meta">sweep <code>${escapeHtml(d.sweepId)}</code> · ${d.trials.length} trials (${escapeHtml(statusText)}) in ${d.groups.length} groups` +
      `${d.axes.length ? ` over ${d.axes.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ')}` : ''}` +
      `${backends.size ? ` · backend ${escapeHtml([...backends].join(', '))}` : ''} · ${d.findings.total} findings · generated ${escapeHtml(generatedAt.toISOString())}</p></header>`,
  );
  parts.push('<nav><h2>Contents</h2><ul>');
  for (const f of figures) parts.push(`<li><a href="#fig-${f.id}">${escapeHtml(f.title)}</a></li>`);
  parts.push(
    '<li><a href="#findings">Findings</a></li><li><a href="#files">Files</a></li></ul></nav>',
  );
  if (figures.length === 0)
    parts.push('<p>No plot: the sweep recorded nothing these plots draw.</p>');
  if (d.unplottedTrials > 0)
    parts.push(
      `<p class="meta">Plots draw a bounded sample of the series: ${d.unplottedTrials} trials are in the data files only.</p>`,
    );
  for (const f of figures) {
    parts.push(
      `<figure class="plot" id="fig-${f.id}" data-plot="${f.id}"><h2>${escapeHtml(f.title)}</h2>`,
    );
    parts.push(
      f.svg !== undefined
        ? `<div class="plot-svg">${f.svg}</div>`
        : `<p class="plot-error">This plot could not be drawn: ${escapeHtml(f.error ?? 'unknown error')}</p>`,
    );
    parts.push(`<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`);
  }
  parts.push(findingsSection(d));
  parts.push('<section id="files"><h2>Files</h2><ul>');
  for (const f of files)
    parts.push(`<li><code>${escapeHtml(f.name)}</code>: ${escapeHtml(f.what)}</li>`);
  parts.push('</ul></section></body></html>');
  return parts.join('\n') + '\n';
}

function findingsSection(d: ReportData): string {
  const out = ['<section id="findings"><h2>Findings</h2>'];
  if (d.findings.total === 0) {
    out.push('<p>No findings.</p></section>');
    return out.join('\n');
  }
  out.push(
    '<table class="finding-counts"><thead><tr><th>analyzer</th><th>kind</th><th>severity</th><th>count</th></tr></thead><tbody>',
  );
  for (const c of d.findings.counts)
    out.push(
      `<tr><td>${escapeHtml(c.analyzer)}</td><td>${escapeHtml(c.kind)}</td><td class="sev-${escapeHtml(c.severity)}">${escapeHtml(c.severity)}</td><td class="num">${c.count}</td></tr>`,
    );
  out.push('</tbody></table>');
  const listed = d.findings.listed;
  out.push(
    `<p class="meta">${listed.length < d.findings.total ? `The ${listed.length} most severe of ${d.findings.total} findings (sweep-level first); all are in findings.jsonl.` : 'Every finding, most severe first.'}</p>`,
    '<table class="findings"><thead><tr><th>severity</th><th>analyzer</th><th>kind</th><th>trial</th><th>message</th><th>evidence</th></tr></thead><tbody>',
  );
  for (const f of listed) out.push(findingRow(f));
  out.push('</tbody></table></section>');
  return out.join('\n');
}

function findingRow(f: Finding): string {
  const evidence = Object.entries(f.evidence)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(' ');
  return (
    `<tr><td class="sev-${escapeHtml(f.severity)}">${escapeHtml(f.severity)}</td><td>${escapeHtml(f.analyzer)}</td><td>${escapeHtml(f.kind)}</td>` +
    `<td>${f.trialId ? `<code>${escapeHtml(f.trialId)}</code>` : 'sweep'}</td><td>${escapeHtml(f.message)}</td><td class="ev">${escapeHtml(evidence)}</td></tr>`
  );
}
