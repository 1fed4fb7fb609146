/**
 * Structured logs: one JSON object per line on stderr (what log shippers expect), or a compact
 * human form when `pretty` is set (a terminal). Child loggers add bound fields such as the
 * service or analyzer name, so every line says where it came from.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** @default 'info' (or DYNLAB_LOG_LEVEL) */
  level?: LogLevel;
  /** Human-readable lines instead of JSON. @default false (or DYNLAB_LOG_PRETTY=1) */
  pretty?: boolean;
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.DYNLAB_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  const pretty = opts.pretty ?? process.env.DYNLAB_LOG_PRETTY === '1';
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  return makeLogger(order[level] ?? order.info, pretty, write, opts.fields ?? {});
}

function makeLogger(
  min: number,
  pretty: boolean,
  write: (line: string) => void,
  bound: Record<string, unknown>,
): Logger {
  const emit = (
    lvl: Exclude<LogLevel, 'silent'>,
    msg: string,
    fields?: Record<string, unknown>,
  ) => {
    if (order[lvl] < min) return;
    const all = { ...bound, ...(fields ?? {}) };
    for (const [k, v] of Object.entries(all))
      if (v instanceof Error) all[k] = { message: v.message, ...(v as object) };
    if (pretty) {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(
        `${new Date().toISOString().slice(11, 23)} ${lvl.toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}`,
      );
    } else {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...all }));
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => makeLogger(min, pretty, write, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (tests, embedded use). */
export const silentLogger: Logger = createLogger({ level: 'silent' });
