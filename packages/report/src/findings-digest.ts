/**
 * What the report keeps of the findings stream, in bounded memory: counts by analyzer, kind and
 * severity, and the most severe `max` findings (sweep-level ones first). Everything else is in
 * findings.jsonl.
 */
import type { Finding } from '@dynlab/spec';

const severityRank: Record<string, number> = { alert: 2, warning: 1, info: 0 };

/** Counts every finding and keeps the `max` most important ones. */
export class FindingsDigest {
  total = 0;
  private readonly counts = new Map<
    string,
    { analyzer: string; kind: string; severity: string; count: number }
  >();
  private readonly kept: { f: Finding; rank: number; seq: number }[] = [];
  private minRank = Infinity;

  constructor(private readonly max: number) {}

  add(f: Finding): void {
    const key = JSON.stringify([f.analyzer, f.kind, f.severity]);
    const c = this.counts.get(key) ?? {
      analyzer: f.analyzer,
      kind: f.kind,
      severity: f.severity,
      count: 0,
    };
    c.count++;
    this.counts.set(key, c);
    const item = {
      f,
      rank: 2 * (severityRank[f.severity] ?? 0) + (f.trialId === '' ? 1 : 0),
      seq: this.total++,
    };
    if (this.max <= 0) return;
    if (this.kept.length < this.max) {
      this.kept.push(item);
      this.minRank = Math.min(this.minRank, item.rank);
      return;
    }
    if (item.rank <= this.minRank) return;
    let victim = 0;
    for (let i = 1; i < this.kept.length; i++) {
      const k = this.kept[i]!;
      const v = this.kept[victim]!;
      if (k.rank < v.rank || (k.rank === v.rank && k.seq > v.seq)) victim = i;
    }
    this.kept[victim] = item;
    this.minRank = Math.min(...this.kept.map((k) => k.rank));
  }

  /** The kept findings (most severe first, then in arrival order) and the counts (largest first). */
  result(): {
    total: number;
    listed: Finding[];
    counts: { analyzer: string; kind: string; severity: string; count: number }[];
  } {
    return {
      total: this.total,
      listed: [...this.kept].sort((a, b) => b.rank - a.rank || a.seq - b.seq).map((k) => k.f),
      counts: [...this.counts.values()].sort(
        (a, b) =>
          b.count - a.count || a.analyzer.localeCompare(b.analyzer) || a.kind.localeCompare(b.kind),
      ),
    };
  }
}
