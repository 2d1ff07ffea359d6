/**
 * The log line of a health change, `{"event":"health","time","upstream","from","to","reason"}`,
 * and the way such event lines (health, and DNS lookups that failed) reach
 * the process log: in text format they are written as they are (one JSON
 * object per line, as before structured logs existed); in JSON format they
 * become records with `level` and `msg`, their fields kept.
 *
 * @module
 */
import { type Logger, type LogLevel, processLog } from "../log/logger.ts";
import type { HealthName } from "./verdict.ts";

/** One health change. */
export interface HealthChange {
  readonly upstream: string;
  readonly from: HealthName;
  readonly to: HealthName;
  readonly reason: string;
}

/** The log line (no newline) of a change at `time`. */
export function healthLine(change: HealthChange, time: Date = new Date()): string {
  return JSON.stringify({ event: "health", time: time.toISOString(), ...change });
}

/** An event line's level and sentence: a down upstream and a failed lookup are warnings. */
function describe(event: string, f: Record<string, unknown>): { level: LogLevel; msg: string } {
  if (event === "health") return { level: f.to === "down" ? "warn" : "info", msg: `health: ${f.upstream}: ${f.from} -> ${f.to} (${f.reason})` };
  if (event === "dns") {
    const kept = Array.isArray(f.kept) ? `keeping ${f.kept.join(", ")}` : "no addresses yet";
    return { level: "warn", msg: `dns: ${f.host}: ${f.error}; ${kept}` };
  }
  return { level: "info", msg: `${event}: ${JSON.stringify(f)}` };
}

/** Writes an event line (`{"event",...}` as healthLine makes) through `log`. */
export function logEventLine(line: string, log: Logger = processLog): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line);
  } catch {
    return log.info("log", line);
  }
  const { event, time: _time, ...fields } = record;
  const name = typeof event === "string" ? event : "log";
  const { level, msg } = describe(name, fields);
  log.write(level, name, msg, fields, line);
}

/** Writes an event line to the process log (stderr): the default of the health monitor and DNS discovery. */
export function logToStderr(line: string): void {
  logEventLine(line);
}
