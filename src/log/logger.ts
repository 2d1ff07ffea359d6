/**
 * The operational log: one line per lifecycle event (start, reload, drain,
 * worker restart, health change, ...), `text` or `json`, filtered by level.
 *
 * There is one per process, {@link processLog}: the main thread's parts all
 * write to it, and `startProxy` configures it. Settings come from two places:
 * options given to {@link Logger.configure} (the CLI's `--log-format` and
 * `--log-level`, or `StartOptions.log`) are fixed, and the config's `log`
 * block, given to {@link Logger.follow} at start and at each reload, sets
 * the rest. Defaults: text, info, on stderr; with a `file`, every line is
 * appended there instead (start lines also stay on stdout), reopened by
 * {@link Logger.reopen}.
 *
 * ```ts
 * const log = new Logger({ level: "debug", sink: (line) => lines.push(line) });
 * log.info("reload", "reloaded spliced.json", { generation: 2 });
 * ```
 *
 * @module
 */
import { formatRecord, type LogFields, type LogFormat, type LogLevel, shows } from "./format.ts";
import { LogFile } from "./file.ts";

export type { LogFields, LogFormat, LogLevel };

/** Format, level and file, as the config's `log` block gives them. */
export interface LogSettings {
  readonly format: LogFormat;
  readonly level: LogLevel;
  /** A file every line is appended to (the start lines still go to stdout too); undefined or `-`: stderr. */
  readonly file?: string;
}

/** Where a line goes: the start lines to stdout, every other line to stderr. */
export type LogStream = "stdout" | "stderr";

/** Writes one line (no newline) to `stream`. */
export type LogSink = (line: string, stream: LogStream) => void;

/** Fixed settings and where lines go. */
export interface LogOptions {
  /** Fixed format: the config's `log.format` is then ignored. */
  readonly format?: LogFormat;
  /** Fixed level: the config's `log.level` is then ignored. */
  readonly level?: LogLevel;
  /** Fixed file: the config's `log.file` is then ignored. */
  readonly file?: string;
  /** Default: stdout and stderr of the process. */
  readonly sink?: LogSink;
}

/** Writes to the process's stdout and stderr. */
const consoleSink: LogSink = (line, stream) => (stream === "stdout" ? console.log(line) : console.error(line));

/** A log: settings, a sink, and one method per level. */
export class Logger {
  #fixed: Partial<LogSettings> = {};
  #config: Partial<LogSettings> = {};
  #sink: LogSink = consoleSink;
  /** Whether the sink is the console (a log file replaces only that one). */
  #console = true;
  #file: LogFile | undefined;

  constructor(options: LogOptions = {}) {
    this.configure(options);
  }

  /** Replaces the fixed settings and the sink (what is not given: the config's, and the console). */
  configure(options: LogOptions): void {
    this.#fixed = {
      ...(options.format && { format: options.format }), ...(options.level && { level: options.level }),
      ...(options.file && { file: options.file }),
    };
    this.#sink = options.sink ?? consoleSink;
    this.#console = options.sink === undefined;
    this.#openFile();
  }

  /** Takes the config's `log` block (at start and on each reload); fixed settings still win. */
  follow(config: Partial<LogSettings> | undefined): void {
    this.#config = { ...config };
    this.#openFile();
  }

  /** The settings in force. */
  get settings(): LogSettings {
    const file = this.#fixed.file ?? this.#config.file;
    return {
      format: this.#fixed.format ?? this.#config.format ?? "text",
      level: this.#fixed.level ?? this.#config.level ?? "info",
      ...(file !== undefined && { file }),
    };
  }

  /** Closes and opens the log file again at its path (SIGUSR1, after logrotate moved it); no-op without one. */
  reopen(): void {
    const failure = this.#file?.reopen();
    if (failure) this.#toConsole(`spliced: log file: ${failure}; writing to stderr until it opens`);
  }

  /** Opens the file the settings name (closing one they no longer name); a console sink only. */
  #openFile(): void {
    const file = this.settings.file;
    const path = this.#console && file !== "-" ? file : undefined;
    if (path === this.#file?.path) return;
    this.#file?.close();
    this.#file = path === undefined ? undefined : new LogFile(path);
    const failure = this.#file?.failure;
    if (failure) this.#toConsole(`spliced: log file: ${failure}; writing to stderr until it opens`);
  }

  #toConsole(line: string): void {
    consoleSink(line, "stderr");
  }

  /** Whether a line of `level` would be written. */
  enabled(level: LogLevel): boolean {
    return shows(this.settings.level, level);
  }

  /** Something failed and was not retried: a reload, a worker that did not restart. */
  error(event: string, msg: string, fields?: LogFields): void {
    this.write("error", event, msg, fields);
  }

  /** Something went wrong and spliced carries on: a worker restarts, an upstream is down. */
  warn(event: string, msg: string, fields?: LogFields): void {
    this.write("warn", event, msg, fields);
  }

  /** A lifecycle step: reloaded, draining, drained. */
  info(event: string, msg: string, fields?: LogFields): void {
    this.write("info", event, msg, fields);
  }

  /** Detail for finding out why. */
  debug(event: string, msg: string, fields?: LogFields): void {
    this.write("debug", event, msg, fields);
  }

  /**
   * Writes one record to stderr if its level is shown. `text` replaces the
   * text line `spliced: msg` (the health lines keep their JSON form there).
   */
  write(level: LogLevel, event: string, msg: string, fields?: LogFields, text?: string): void {
    if (!this.enabled(level)) return;
    this.#emit(formatRecord(this.settings.format, { time: new Date(), level, event, msg, fields, text }), "stderr");
  }

  /**
   * A start line on stdout, at every level: it says where spliced listens.
   * In text it is `text` as it stands; in JSON an info record whose `msg` is `text`.
   */
  announce(event: string, text: string, fields?: LogFields): void {
    this.#emit(formatRecord(this.settings.format, { time: new Date(), level: "info", event, msg: text, fields, text }), "stdout");
  }

  /** Hands a line to the sink; a sink that throws (a library user's) loses that line, never the caller's work. */
  #emit(line: string, stream: LogStream): void {
    try {
      if (this.#file?.write(line)) {
        if (stream === "stdout") this.#sink(line, stream);
        return;
      }
      this.#sink(line, stream);
    } catch {
      // the log is best effort: a reload or a drain must not fail because a line could not be written
    }
  }
}

/** The process's log: every part of the main thread writes here. */
export const processLog: Logger = new Logger();
