/**
 * Sweep statuses as text: the short state names and counts the `status`, `watch` and `run`
 * commands print, so all three say the same thing the same way.
 */
import type { SweepStatus } from '@dynlab/client';
import { v1 } from '@dynlab/proto';

/** `running`, `complete`, `cancelled`, `failed` (or `unknown`). */
export function stateName(state: v1.SweepState | null | undefined): string {
  return (v1.SweepState[state ?? 0] ?? 'SWEEP_STATE_UNSPECIFIED')
    .replace('SWEEP_STATE_', '')
    .replace('UNSPECIFIED', 'unknown')
    .toLowerCase();
}

/** Trials with an outcome (ok, diverged, failed or cancelled). */
export function doneCount(st: SweepStatus): number {
  const c = st.counts;
  return (c?.ok ?? 0) + (c?.diverged ?? 0) + (c?.failed ?? 0) + (c?.cancelled ?? 0);
}

/** One line: id, name, state, done/total, outcome counts, findings. */
export function statusLine(st: SweepStatus): string {
  const c = st.counts;
  const outcomes = [
    `${c?.ok ?? 0} ok`,
    ...(c?.diverged ? [`${c.diverged} diverged`] : []),
    ...(c?.failed ? [`${c.failed} failed`] : []),
    ...(c?.cancelled ? [`${c.cancelled} cancelled`] : []),
  ];
  return `${st.sweepId}  ${st.name || '-'}  ${stateName(st.state)}  ${doneCount(st)}/${c?.total ?? 0} trials (${outcomes.join(', ')})  ${st.findings ?? 0} findings`;
}

/** A table of sweeps, newest first, with a header. */
export function statusTable(list: SweepStatus[]): string {
  if (list.length === 0) return 'no sweeps';
  const rows = [...list]
    .sort((a, b) => Number(b.createdMs) - Number(a.createdMs))
    .map((st) => [
      st.sweepId,
      st.name || '-',
      stateName(st.state),
      `${doneCount(st)}/${st.counts?.total ?? 0}`,
      String(st.counts?.failed ?? 0),
      String(st.findings ?? 0),
      new Date(Number(st.createdMs)).toISOString().replace('T', ' ').slice(0, 19),
    ]);
  const head = ['SWEEP', 'NAME', 'STATE', 'TRIALS', 'FAILED', 'FINDINGS', 'CREATED (UTC)'];
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((cell, k) => cell.padEnd(widths[k]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
