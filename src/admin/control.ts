/**
 * The control endpoints. Each runs behind the token check and the body limit;
 * each change is visible in `/upstreams` and `/stats` as soon as it answers,
 * on every worker (states and weights live in a shared array the workers read
 * on each pick).
 *
 * - `POST /upstreams/:id/drain`: no new connections; open ones finish.
 * - `POST /upstreams/:id/disable`: out of service (maintenance); open ones finish too.
 * - `POST /upstreams/:id/enable`: back in the rotation.
 * - `PUT /upstreams/:id/weight` `{"weight": 0-1000}`.
 * - `POST /upstreams` `{"listener", "route"?, "address", "weight"?, "backup"?}`: 201 with the
 *   new ids, on every worker; forgotten on restart or reload unless the file has it.
 * - `DELETE /upstreams/:id`: 202; no new connections at once, open ones finish, then it is gone.
 * - `POST /reload`: re-read and apply the config file; 400 `invalid_config` with
 *   the same field errors as `spliced check` when it is invalid (nothing changes).
 * - `POST /shutdown`: 202, then a graceful close (grace period of the config).
 *
 * @module
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { ConfigError } from "../errors.ts";
import { UpstreamChangeError } from "../discovery/live.ts";
import type { Proxy, UpstreamRequest, UpstreamState } from "../proxy.ts";
import { AdminError, badField } from "./errors.ts";
import { splitAction, upstreamMethod } from "./methods.ts";
import { unknownUpstream } from "./reads.ts";
import { upstreamView } from "./views.ts";

const ACTIONS: Record<string, UpstreamState> = { drain: "draining", disable: "disabled", enable: "up" };

/** Delay between the 202 of `/shutdown` and the start of the close, so the answer goes out first. */
const SHUTDOWN_DELAY_MS = 50;

/** Reads a JSON object body; 400 `invalid_json` when it is not one. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new AdminError(400, "invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AdminError(400, "invalid_json", "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** Validates `{"weight": n}`: an integer from 0 to 1000, and nothing else. */
export function parseWeight(body: Record<string, unknown>): number {
  for (const key of Object.keys(body)) if (key !== "weight") throw badField(key, "unknown field (expected only \"weight\")");
  const w = body.weight;
  if (w === undefined) throw badField("weight", "required");
  if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 1000) {
    throw badField("weight", `expected an integer from 0 to 1000, got ${JSON.stringify(w)}`);
  }
  return w;
}

/** The control routes, each behind `guard` (token check and body limit). */
export function controlRoutes(proxy: Proxy, guard: MiddlewareHandler, log: (line: string) => void): Hono {
  const app = new Hono();
  const answer = (c: Context, id: string) => c.json(upstreamView(proxy.stats(), id) ?? null);

  // One pattern for every /upstreams/... path (see methods.ts): the action is the id's last segment.
  app.post("/upstreams/:id{.+}", upstreamMethod(), guard, (c) => {
    const { id, action } = splitAction(c.req.param("id") ?? "");
    const state = ACTIONS[action ?? ""];
    if (!proxy.setUpstreamState(id, state)) throw unknownUpstream(id);
    log(`upstream ${id}: ${state}`);
    return answer(c, id);
  });
  app.put("/upstreams/:id{.+}", upstreamMethod(), guard, async (c) => {
    const { id } = splitAction(c.req.param("id") ?? "");
    if (!upstreamView(proxy.stats(), id)) throw unknownUpstream(id);
    const weight = parseWeight(await readJsonObject(c));
    if (!proxy.setUpstreamWeight(id, weight)) throw unknownUpstream(id);
    log(`upstream ${id}: weight ${weight}`);
    return answer(c, id);
  });
  app.post("/upstreams", guard, async (c) => {
    const body = await readJsonObject(c);
    const ids = await proxy.addUpstream(body as unknown as UpstreamRequest).catch(changeError);
    log(`upstream added: ${ids.join(", ")}`);
    const stats = proxy.stats();
    return c.json({ id: ids[0] ?? null, ids, upstreams: ids.map((id) => upstreamView(stats, id) ?? null) }, 201);
  });
  app.delete("/upstreams/:id{.+}", upstreamMethod(), guard, async (c) => {
    const { id } = splitAction(c.req.param("id") ?? "");
    if (!(await proxy.removeUpstream(id).catch(changeError))) throw unknownUpstream(id);
    log(`upstream ${id}: draining, removed`);
    return c.json({ status: "removing", id }, 202);
  });
  app.post("/reload", guard, async (c) => {
    if (proxy.configPath === undefined) {
      throw new AdminError(409, "no_config_file", "nothing to reload: the proxy was not started from a config file");
    }
    try {
      const config = await proxy.reload();
      const generation = proxy.stats().generation;
      log(`reloaded ${proxy.configPath} (generation ${generation}, ${config.listeners.length} listeners)`);
      return c.json({ status: "reloaded", path: proxy.configPath, generation, listeners: config.listeners.map((l) => l.name) });
    } catch (err) {
      const error = reloadError(err);
      log(`POST /reload: reload failed, still running the previous config: ${error.message}`);
      throw error;
    }
  });
  app.post("/shutdown", guard, (c) => {
    const grace = proxy.config.gracePeriod / 1000;
    log(`shutdown requested: draining (grace period ${grace}s)`);
    setTimeout(() => void proxy.close(), SHUTDOWN_DELAY_MS);
    return c.json({ status: "shutting_down", grace_period_seconds: grace }, 202);
  });
  return app;
}

/** UpstreamChangeError as the admin error: 400 naming the field, 409 for a conflict. */
function changeError(err: unknown): never {
  if (!(err instanceof UpstreamChangeError)) throw err;
  if (err.kind === "invalid") throw badField(err.field, err.message.slice(err.field.length + 2));
  throw new AdminError(409, err.kind === "exists" ? "upstream_exists" : "last_upstream", err.message);
}

function reloadError(err: unknown): AdminError {
  if (err instanceof ConfigError) {
    return new AdminError(400, "invalid_config", err.message, { source: err.source, issues: err.issues });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/shutting down/.test(message)) return new AdminError(409, "shutting_down", message);
  return new AdminError(500, "reload_failed", message);
}
