/**
 * Live progress of a sweep, the way people expect it from tqdm or Ray: trials done of total,
 * trials per second, an ETA, failures and findings so far. On a terminal one line is redrawn in
 * place; otherwise (a log file, CI) a plain line is written every `intervalMs` and when the sweep
 * ends, so logs stay readable.
 */
import type { SweepStatus } from '@dynlab/client';
import { doneCount, stateName } from './sweep-status-text';

/** Where and how progress is shown. */
export interface ProgressOptions {
  /** @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Redraw one line in place. @default stream.isTTY */
  tty?: boolean;
  /** Minimum time between plain lines (non-TTY). @default 5000 */
  intervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** `1m05s`, `42s`, `1h02m`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}

/** Renders progress lines from successive sweep statuses. */
export class ProgressDisplay {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private lastPrinted = -Infinity;
  private lastLine = '';
  private drawn = false;

  constructor(o: ProgressOptions = {}) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? this.stream.isTTY === true;
    this.intervalMs = o.intervalMs ?? 5000;
    this.now = o.now ?? Date.now;
    this.started = this.now();
  }

  /** The progress line for a status (no trailing newline). */
  line(st: SweepStatus): string {
    const total = st.counts?.total ?? 0;
    const done = doneCount(st);
    const elapsedS = (this.now() - this.started) / 1000;
    const rate = elapsedS > 0 ? done / elapsedS : 0;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
    const failures = (st.counts?.failed ?? 0) + (st.counts?.diverged ?? 0);
    const running = stateName(st.state) === 'running';
    const eta = running
      ? rate > 0
        ? `ETA ${formatDuration((total - done) / rate)}`
        : 'ETA ?'
      : stateName(st.state);
    return `${st.sweepId}: ${done}/${total} trials (${pct}%)  ${rate.toFixed(1)} trials/s  ${eta}  ${failures} failed  ${st.findings ?? 0} findings  [${formatDuration(elapsedS)}]`;
  }

  /** Shows a status: redraws the line on a terminal, prints it when due otherwise. */
  update(st: SweepStatus): void {
    const line = this.line(st);
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (this.now() - this.lastPrinted >= this.intervalMs && line !== this.lastLine) {
      this.stream.write(line + '\n');
      this.lastPrinted = this.now();
    }
    this.lastLine = line;
  }

  /** Ends the display with the final status on its own line. */
  finish(st?: SweepStatus): void {
    const line = st ? this.line(st) : this.lastLine;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}\n`);
      this.drawn = false;
    } else if (line) this.stream.write(line + '\n');
  }

  /** Moves off a half-drawn line before other output (a terminal only). */
  interrupt(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
