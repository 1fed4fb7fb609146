/**
 * Reading a service's /metrics the way Prometheus does, for assertions on what an operator sees
 * (malformed-message counters, pool size, consumer lag) rather than on internals.
 */
import { findSamples, parseExposition, type Exposition } from '@dynlab/metrics';

/** Scrapes `http://127.0.0.1:<port>/metrics`. */
export async function scrape(port: number): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics on port ${port} answered ${res.status}`);
  return parseExposition(await res.text());
}

/** Sum of the samples called `name` whose labels include `match` (0 when there is none). */
export function metricSum(
  exp: Exposition,
  name: string,
  match: Record<string, string> = {},
): number {
  return findSamples(exp, name, match).reduce((a, s) => a + s.value, 0);
}

/** Scrapes and sums one metric. */
export async function scrapeSum(
  port: number,
  name: string,
  match: Record<string, string> = {},
): Promise<number> {
  return metricSum(await scrape(port), name, match);
}

/** True when the service's /healthz answers 200. */
export async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  } catch {
    return false;
  }
}
