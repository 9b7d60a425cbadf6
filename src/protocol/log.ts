/**
 * Readable log lines for the daemon, one per event, on stderr (stdout is reserved for the machine-readable
 * `listening` line). Format: `<ISO time> <LEVEL> <component>: <message> key=value ...`, e.g.
 *
 * ```text
 * 2025-11-22T01:50:00.123Z WARN  connection: closed 127.0.0.1:53122: ERR_FRAME_GARBAGE not a msgpack value (4400)
 * ```
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  readonly level: LogLevel;
  readonly component: string;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger for a sub-component with the same level and sink: `log.child('deployer')`. */
  child(component: string): Logger;
  /** Whether a line at `level` would be written (to skip building expensive messages). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

export interface LoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** @default 'peer' */
  component?: string;
  /** Where finished lines go (without a trailing newline). @default a write to process.stderr */
  sink?: (line: string) => void;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[^\s"=]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const sink = options.sink ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const make = (component: string): Logger => {
    const write = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
      if (rank[at] < rank[level]) return;
      let line = `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${component}: ${message}`;
      if (fields !== undefined) {
        for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${formatValue(v)}`;
      }
      sink(line);
    };
    return {
      level,
      component,
      debug: (m, f) => write('debug', m, f),
      info: (m, f) => write('info', m, f),
      warn: (m, f) => write('warn', m, f),
      error: (m, f) => write('error', m, f),
      child: (c) => make(c),
      enabled: (at) => rank[at] >= rank[level],
    };
  };
  return make(options.component ?? 'peer');
}
