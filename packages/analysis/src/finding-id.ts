/**
 * Deterministic finding ids. Telemetry can be replayed (a plugin added after the sweep ran, an
 * analyzer restarted mid-stream), so the same conclusion must get the same id every time it is
 * drawn, and consumers deduplicate on it. The id is a hash of what identifies the conclusion, not of
 * its evidence, which may differ in the last bits between runs.
 */
import { createHash } from 'node:crypto';

/** What identifies a finding. */
export interface FindingKey {
  analyzer: string;
  sweepId: string;
  /** Empty for a per-sweep finding. */
  trialId: string;
  kind: string;
  /** @default '' */
  discriminator?: string;
}

/** The finding id: the first 32 hex digits of SHA-256 over the key's fields, NUL-separated. */
export function findingId(key: FindingKey): string {
  const text = [key.analyzer, key.sweepId, key.trialId, key.kind, key.discriminator ?? ''].join(
    '\0',
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
