/**
 * Test support: report.html opened in headless Chromium (Debian's `chromium`, driven by
 * playwright-core), with what a reader would see: console problems, network requests, and each
 * plot's size, marks and caption. Used by this package's tests and by the CLI's end-to-end test.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/** Whether the browser is installed (tests skip without it). */
export const hasChromium = (): boolean => existsSync(chromiumPath);

/** Runs `fn` with a fresh headless browser (its own profile, removed afterwards). */
export async function withChromium(fn: (browser: BrowserContext) => Promise<void>): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), 'dynlab-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1300, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    await fn(browser);
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** One plot as drawn: its id, the SVG's size, its marks and how many of them are painted. */
export interface DrawnPlot {
  id: string | null;
  width: number;
  height: number;
  marks: number;
  painted: number;
  caption: string;
}

/** Opens a report file and reads back what was drawn, and every problem and request on the way. */
export async function loadReport(
  browser: BrowserContext,
  file: string,
): Promise<{
  page: Page;
  url: string;
  problems: string[];
  requests: string[];
  drawn: DrawnPlot[];
}> {
  const url = pathToFileURL(file).href;
  const page = await browser.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  const drawn = await page.$$eval('figure[data-plot]', (figs) =>
    figs.map((f) => {
      const box = f.querySelector('svg')?.getBoundingClientRect();
      const marks = [...f.querySelectorAll('svg g.role-mark > path')].filter(
        (p) => (p.getAttribute('d') ?? '').length > 10,
      );
      const painted = marks.filter((p) => {
        const b = (p as unknown as { getBBox(): { width: number; height: number } }).getBBox();
        return b.width > 0 || b.height > 0;
      });
      return {
        id: f.getAttribute('data-plot'),
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        marks: marks.length,
        painted: painted.length,
        caption: f.querySelector('figcaption')?.textContent ?? '',
      };
    }),
  );
  return { page, url, problems, requests, drawn };
}
