/**
 * Worker supervision: a worker that fails after start-up (it threw out of its
 * loop, or its thread died) is logged, counted, marked down for `/ready`, and
 * replaced by a new worker with the same listening sockets and counters.
 *
 * @module
 */
import type { Sys } from "../ffi/sys.ts";
import type { Generation } from "./generation.ts";
import { processLog } from "./log/logger.ts";
import { WorkerHandle } from "./workers.ts";

/** How a generation's workers fared: shown in `/stats`, `/metrics` and `/ready`. */
export interface WorkerHealth {
  /** Workers replaced after a failure, over the generation's life. */
  restarts: number;
  /** Indexes of workers that failed and are not running again yet. */
  readonly down: Set<number>;
  /** Set once the generation is retired or shutting down: a failed worker is then not replaced. */
  ending: boolean;
}

/** First restart delay after a worker failed; doubles for each failure in a row, up to MAX_RESTART_DELAY_MS. */
const RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 5000;
/** A worker that ran this long without failing resets the doubling. */
const STABLE_MS = 60_000;

/** What a worker is started with (the same again when it is replaced). */
export type WorkerStart = Parameters<WorkerHandle["start"]>[0];

/**
 * Replaces `worker` when it fails after start-up: logs it, counts it, marks it
 * down (for `/ready`) and starts a new worker with the same listening sockets
 * and counters after a delay that doubles while failures follow each other.
 */
export function supervise(sys: Sys, gen: Generation, worker: WorkerHandle, init: WorkerStart, failuresInARow: number): void {
  const startedAt = Date.now();
  worker.onCrash = (err) => {
    const w = worker.index;
    if (gen.health.ending) {
      return processLog.warn("worker_failed", `worker ${w} failed while stopping: ${err.message}`, { worker: w, generation: gen.id, error: err.message });
    }
    gen.health.down.add(w);
    const row = Date.now() - startedAt > STABLE_MS ? 0 : failuresInARow;
    const delay = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** row);
    processLog.warn("worker_failed", `worker ${w} failed: ${err.message}; restarting it in ${delay} ms`, {
      worker: w, generation: gen.id, error: err.message, restart_in_ms: delay,
    });
    setTimeout(() => restart(sys, gen, w, init, row + 1), delay);
  };
}

async function restart(sys: Sys, gen: Generation, w: number, init: WorkerStart, failuresInARow: number): Promise<void> {
  if (gen.health.ending) return;
  const worker = new WorkerHandle(sys, w);
  gen.workers[w] = worker;
  try {
    await worker.start(init);
  } catch (err) {
    processLog.error("worker_restart_failed", `worker ${w} did not restart: ${(err as Error).message}`, {
      worker: w, generation: gen.id, error: (err as Error).message,
    });
    worker.terminate();
    const delay = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** failuresInARow);
    return void setTimeout(() => restart(sys, gen, w, init, failuresInARow + 1), delay);
  }
  gen.health.restarts++;
  gen.health.down.delete(w);
  processLog.info("worker_restarted", `worker ${w} restarted`, { worker: w, generation: gen.id, restarts: gen.health.restarts });
  supervise(sys, gen, worker, init, failuresInARow);
}
