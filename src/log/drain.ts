/**
 * The drain lines: `draining 3 connections (grace period 30s)` when a
 * shutdown starts (`draining generation 1 (replaced by 2): ...` when a reload
 * retires one), and `drained: 41 connections finished, 2 closed at the
 * grace deadline` once the workers stopped, from the counts each worker
 * reports with its `stopped` message.
 *
 * @module
 */
import type { Logger } from "./logger.ts";

/** What one worker reports of its drain: connections open when it began, and those closed when it was stopped. */
export interface DrainCounts {
  readonly open: number;
  readonly cut: number;
}

/** A drain's outcome over a set of workers. */
export interface DrainSummary {
  /** Connections open when the drain began. */
  readonly open: number;
  /** Those that ended by themselves. */
  readonly finished: number;
  /** Those spliced closed because the grace period was over. */
  readonly cut: number;
  /** Workers that reported no counts (they failed, or did not stop in time). */
  readonly unreported: number;
}

/** Sums the workers' reports (`undefined`: a worker that sent none). */
export function summarize(reports: readonly (DrainCounts | undefined)[]): DrainSummary {
  let open = 0, cut = 0, unreported = 0;
  for (const r of reports) {
    if (!r) unreported++;
    else {
      open += r.open;
      cut += r.cut;
    }
  }
  return { open, cut, finished: open - cut, unreported };
}

function connections(n: number): string {
  return n === 1 ? "1 connection" : `${n} connections`;
}

/** Logs the start of a shutdown drain. */
export function logDraining(log: Logger, open: number, graceMs: number): void {
  log.info("drain", `draining ${connections(open)} (grace period ${graceMs / 1000}s)`, { open, grace_period_ms: graceMs });
}

/** Logs that a reload (or an upstream change) retired generation `generation`: its open connections finish on it, without a deadline. */
export function logRetiring(log: Logger, generation: number, open: number, next: number): void {
  log.info("drain", `draining generation ${generation} (replaced by ${next}): ${connections(open)} open, left to finish`, { generation, open, next });
}

/**
 * Logs how a drain went. `generation`: a generation a reload (or an upstream
 * change) retired; without it, the whole proxy's shutdown.
 */
export function logDrained(log: Logger, s: DrainSummary, generation?: number): void {
  const whose = generation === undefined ? "" : ` (generation ${generation}, replaced)`;
  const missing = s.unreported ? `; ${s.unreported} worker${s.unreported === 1 ? "" : "s"} did not report` : "";
  log.info("drained", `drained${whose}: ${connections(s.finished)} finished, ${s.cut} closed at the grace deadline${missing}`, {
    generation, open: s.open, finished: s.finished, closed_at_deadline: s.cut, workers_unreported: s.unreported || undefined,
  });
}
