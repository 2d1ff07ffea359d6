/**
 * Test-only routes, served only when `SPLICED_TEST_HOOKS=1` is in the
 * environment (read when the admin app is built), behind the admin token:
 *
 * - `POST /debug/worker-fault` `{"worker": N}`: makes worker N throw from its
 *   next sweep (`proxy.injectWorkerFault`), to prove a failed worker is replaced.
 *   200 `{"injected": true}`; 404 `unknown_worker` when there is no such worker.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import process from "node:process";
import type { Proxy } from "../proxy.ts";
import { readJsonObject } from "./control.ts";
import { AdminError, badField } from "./errors.ts";

/** Environment variable that turns the test hooks on (value "1"). */
export const TEST_HOOKS_ENV = "SPLICED_TEST_HOOKS";

/** True when the test-only routes are to be served. */
export function testHooksEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return env[TEST_HOOKS_ENV] === "1";
}

/** Validates `{"worker": n}`: a non-negative integer, and nothing else. */
export function parseWorker(body: Record<string, unknown>): number {
  for (const key of Object.keys(body)) if (key !== "worker") throw badField(key, "unknown field (expected only \"worker\")");
  const w = body.worker;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 0) throw badField("worker", `expected a worker index, got ${JSON.stringify(w)}`);
  return w;
}

/** The test-only routes, behind `guard` (token check and body limit). */
export function debugRoutes(proxy: Proxy, guard: MiddlewareHandler, log: (line: string) => void): Hono {
  const app = new Hono();
  // Optional call: the Proxy of an older build may not have the hook.
  const inject = (proxy as Partial<Pick<Proxy, "injectWorkerFault">>).injectWorkerFault?.bind(proxy);
  app.post("/debug/worker-fault", guard, async (c) => {
    const worker = parseWorker(await readJsonObject(c));
    if (!inject?.(worker)) throw new AdminError(404, "unknown_worker", `no worker ${worker} to fault (or the hook is off)`);
    log(`test hook: fault injected into worker ${worker}`);
    return c.json({ injected: true, worker });
  });
  return app;
}
