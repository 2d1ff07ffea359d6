/**
 * The structured log line of a health change: one JSON object per line on
 * stderr, `{"event":"health","time","upstream","from","to","reason"}`.
 *
 * @module
 */
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

/** Writes a line to stderr. */
export function logToStderr(line: string): void {
  console.error(line);
}
