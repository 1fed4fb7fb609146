import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openResults, type ResultFiles } from './index';
import {
  phaseSweep,
  speedSweep,
  starvationSweep,
  type SyntheticSweep,
} from './synthetic-sweeps.fixture';
import { chromiumPath, hasChromium, loadReport, withChromium } from './report-browser.fixture';

const artifacts = resolve(__dirname, '../../../test-artifacts');
const sweeps = [starvationSweep(), speedSweep(), phaseSweep()];
const written = new Map<string, { sweep: SyntheticSweep; files: ResultFiles; html: string }>();
let root = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dynlab-report-html-'));
  for (const s of sweeps) {
    const out = await openResults(join(root, s.sweepId), {
      sweepId: s.sweepId,
      sweepName: s.name,
      axes: s.axes,
    });
    for (const t of s.trials) await out.addTrial(t.trial, t.outcome, t.telemetry, t.extras);
    for (const f of s.findings) await out.addFinding(f);
    const files = await out.finish();
    written.set(s.sweepId, { sweep: s, files, html: await readFile(files.reportHtml, 'utf8') });
  }
});
after(() => rm(root, { recursive: true, force: true }));

/** Titles every figure's axes must carry (with units). */
const axisTitles: Record<string, string[]> = {
  'error-curves': ['step (log)', 'training error (fraction)'],
  'probe-outputs': ['step (log)', 'output f(probe) (logit)'],
  'gradient-shares': ['step (log)', 'gradient share (fraction)'],
  'learning-time-vs-norm': ['input norm r (log)', 'learning time (lr × steps, log)'],
  'learning-time-vs-frequency': [
    'feature frequency p (fraction of samples, log)',
    'learning time (lr × steps, log)',
  ],
  'failed-training-phase': [
    'layers[0].weights (initial value)',
    'layers[1].weights (initial value)',
  ],
  'loss-comparison': ['step (log)', 'output on e0 (logit)'],
  'starvation-counterfactual': ['step (log)', 'output on e1 (logit)'],
};

void test('each report draws exactly the plots its data supports, without plotting warnings', () => {
  for (const { sweep, files } of written.values()) {
    assert.deepEqual(files.figures, sweep.expectedFigures, sweep.sweepId);
    assert.deepEqual(files.plotWarnings, [], sweep.sweepId);
  }
});

void test('report.html is self-contained: no script, no external reference, every plot an inline SVG with marks, axis titles and a caption', () => {
  for (const { sweep, html } of written.values()) {
    assert.doesNotMatch(html, /<script|<link|<iframe|<img|\ssrc=|@import/i, sweep.sweepId);
    const urls = [...html.matchAll(/https?:\/\/[^\s"')<]+/g)].map((m) => m[0]);
    assert.deepEqual(
      [...new Set(urls)].sort(),
      ['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg'],
      sweep.sweepId,
    );
    const figures = [
      ...html.matchAll(
        /<figure class="plot" id="fig-([a-z-]+)" data-plot="([a-z-]+)">([\s\S]*?)<\/figure>/g,
      ),
    ];
    assert.deepEqual(
      figures.map((m) => m[2]),
      sweep.expectedFigures,
    );
    for (const [, id, , body] of figures) {
      assert.equal((body!.match(/<svg /g) ?? []).length, 1, id);
      const marks = [
        ...body!.matchAll(/<g class="mark-[a-z]+ role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g),
      ];
      assert.ok(
        marks.some((m) => /<path [^>]*d="M[^"]{10,}/.test(m[1]!)),
        `${id}: no drawn mark`,
      );
      for (const title of axisTitles[id!]!)
        assert.ok(
          body!.includes(`>${title.replace(/&/g, '&amp;')}</text>`),
          `${id}: axis title '${title}'`,
        );
      assert.match(body!, /<figcaption>[^<]{30,}<\/figcaption>/, id);
    }
    assert.match(html, /<table class="findings">/);
    assert.ok(html.length < 400_000, `${sweep.sweepId}: ${html.length} bytes`);
  }
});

void test('the learning-time plots carry the convergence-speed slopes, each with its regressor', () => {
  const { html } = written.get('swB')!;
  const fig = (id: string) => new RegExp(`data-plot="${id}">([\\s\\S]*?)</figure>`).exec(html)![1]!;
  assert.ok(fig('learning-time-vs-norm').includes('>fit: slope -0.98 [-1.05, -0.91]</text>'));
  assert.ok(fig('learning-time-vs-frequency').includes('>fit: slope -1.02 [-1.09, -0.95]</text>'));
});

void test('without convergence-speed findings, the learning-time plots use the trial table and a least-squares slope', async () => {
  const s = speedSweep();
  const findings = s.findings.filter((f) => f.analyzer !== 'convergence-speed');
  const out = await openResults(join(root, 'no-speed'), { sweepId: s.sweepId, axes: s.axes });
  for (const t of s.trials) await out.addTrial(t.trial, t.outcome, t.telemetry, t.extras);
  for (const f of findings) await out.addFinding(f);
  const files = await out.finish();
  assert.deepEqual(files.figures, s.expectedFigures);
  const html = await readFile(files.reportHtml, 'utf8');
  const norm = /data-plot="learning-time-vs-norm">([\s\S]*?)<\/figure>/.exec(html)![1]!;
  assert.ok(norm.includes('>learning time (steps, log)</text>'));
  // The expected slope: ordinary least squares of ln(learning step) on ln(norm) over the trials that learned.
  const pts = s.trials.flatMap(({ trial, telemetry }) => {
    const fit = s.findings.find(
      (f) =>
        f.trialId === trial.id && f.kind === 'learning-curve' && f.evidence.probe === undefined,
    );
    const half = telemetry.steps.find((_, i) => telemetry.error[i]! <= telemetry.error[0]! / 2);
    const y = fit?.evidence.learningStep ?? half;
    return y === undefined
      ? []
      : [[Math.log(Number(trial.params['data.features.features[0].norm'])), Math.log(y)] as const];
  });
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const expected =
    pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) /
    pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  assert.equal(pts.length, 23);
  const shown = Number(/>fit: slope (-?[\d.]+) \(least squares\)<\/text>/.exec(norm)?.[1]);
  assert.equal(shown, Number(expected.toPrecision(4)));
});

void test('the findings table lists alerts first and names the starved feature', () => {
  const { html } = written.get('swA')!;
  const rows = [...html.matchAll(/<tr><td class="sev-([a-z]+)">/g)].map((m) => m[1]);
  assert.deepEqual(rows.slice(0, 3), ['alert', 'alert', 'warning']);
  assert.match(html, /starved-feature[\s\S]*?feature=1 dominant=0 share=0.02/);
});

void test('report.html in headless Chromium: no console error, no network request, every plot drawn', async (t) => {
  if (!hasChromium()) {
    t.skip(
      `${chromiumPath} not found (apt-get install -y chromium); the DOM-level test above still checks the page`,
    );
    return;
  }
  await mkdir(artifacts, { recursive: true });
  await withChromium(async (browser) => {
    for (const { sweep, files } of written.values()) {
      const { page, url, problems, requests, drawn } = await loadReport(browser, files.reportHtml);
      assert.deepEqual(
        drawn.map((d) => d.id),
        sweep.expectedFigures,
        sweep.sweepId,
      );
      for (const d of drawn) {
        assert.ok(
          d.width > 200 && d.height > 150,
          `${sweep.sweepId} ${d.id}: svg ${d.width}x${d.height}`,
        );
        assert.ok(
          d.painted > 0 && d.painted === d.marks,
          `${sweep.sweepId} ${d.id}: ${d.painted} of ${d.marks} marks painted`,
        );
        assert.ok(d.caption.length > 30, `${d.id}: caption`);
      }
      await page.screenshot({
        path: join(artifacts, `report-${sweep.name.replace(/\W+/g, '-')}.png`),
        fullPage: true,
      });
      assert.deepEqual(problems, [], sweep.sweepId);
      assert.deepEqual(requests, [url], `${sweep.sweepId}: only the page itself is loaded`);
      await page.close();
    }
  });
});
