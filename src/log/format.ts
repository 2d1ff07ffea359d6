/**
 * The two shapes of a log line, as pure functions: `text`, the human line
 * `spliced: MESSAGE`, and `json`, one object per line
 * `{"time","level","event","msg",...fields}`. Either is one line: a message
 * that spans lines (a config error with several issues) is joined with "; ".
 *
 * @module
 */

/** Severities, most severe first: a logger at one shows it and those before it. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** Line formats. */
export const LOG_FORMATS = ["text", "json"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Values a record carries besides its message: JSON-serialisable. */
export type LogFields = Readonly<Record<string, unknown>>;

/** One event to write. */
export interface LogRecord {
  readonly time: Date;
  readonly level: LogLevel;
  /** A short stable name to filter on: `start`, `reload`, `drained`, ... */
  readonly event: string;
  /** The sentence a person reads (the text line, and `msg` in JSON). */
  readonly msg: string;
  readonly fields?: LogFields;
  /** The whole text line when it is not `spliced: msg` (the start lines, the JSON health lines). */
  readonly text?: string;
}

/** Keys a JSON line sets itself; a field of the same name is left out rather than overwrite one. */
const RESERVED = new Set(["time", "level", "event", "msg"]);

/** `text` on one line: its line breaks (and the indentation after them) as "; ". */
export function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, "; ");
}

/** Whether a logger at `threshold` writes a record of `level`. */
export function shows(threshold: LogLevel, level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(threshold);
}

/** The JSON line of `record` (no newline). */
export function jsonLine(record: LogRecord): string {
  const out: Record<string, unknown> = {
    time: record.time.toISOString(), level: record.level, event: record.event, msg: oneLine(record.msg),
  };
  for (const [key, value] of Object.entries(record.fields ?? {})) if (!RESERVED.has(key) && value !== undefined) out[key] = value;
  return JSON.stringify(out);
}

/** The text line of `record` (no newline): `spliced: msg`, or its own text. */
export function textLine(record: LogRecord): string {
  return oneLine(record.text ?? `spliced: ${record.msg}`);
}

/** The line of `record` in `format`. */
export function formatRecord(format: LogFormat, record: LogRecord): string {
  return format === "json" ? jsonLine(record) : textLine(record);
}
