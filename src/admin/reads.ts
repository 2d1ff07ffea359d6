/**
 * The JSON read endpoints: `/stats`, `/stats/connections`, `/upstreams`,
 * `/upstreams/:id`, `/routes`, `/config`.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { Proxy } from "../proxy.ts";
import { AdminError, badField } from "./errors.ts";
import { upstreamMethod } from "./methods.ts";
import { redactConfig, routeViews, upstreamView, upstreamViews } from "./views.ts";

/** Default and largest `limit` of `/stats/connections`. */
export const CONNECTIONS_LIMIT = { default: 100, max: 10_000 } as const;

/** Parses `?limit=`: an integer from 1 to 10000 (default 100). */
export function parseLimit(text: string | undefined): number {
  if (text === undefined || text === "") return CONNECTIONS_LIMIT.default;
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= CONNECTIONS_LIMIT.max)) {
    throw badField("limit", `expected an integer from 1 to ${CONNECTIONS_LIMIT.max}, got "${text}"`);
  }
  return n;
}

/** The paths {@link readRoutes} serves (GET and HEAD only). */
export const READ_PATHS = ["/stats", "/stats/connections", "/upstreams", "/routes", "/config"] as const;

/** Throws the 404 for an upstream id nobody knows. */
export function unknownUpstream(id: string): AdminError {
  return new AdminError(404, "unknown_upstream", `no upstream "${id}" (ids are listener/host:port, see GET /upstreams)`);
}

/** The read routes, each behind `read` (a pass-through, or the token check). */
export function readRoutes(proxy: Proxy, read: MiddlewareHandler): Hono {
  const app = new Hono();
  app.get("/stats", read, (c) => c.json(proxy.stats()));
  app.get("/stats/connections", read, async (c) => {
    const limit = parseLimit(c.req.query("limit"));
    const connections = await proxy.connections(limit);
    return c.json({ limit, count: connections.length, connections });
  });
  app.get("/upstreams", read, (c) => c.json({ upstreams: upstreamViews(proxy.stats()) }));
  app.get("/upstreams/:id{.+}", upstreamMethod(), read, (c) => {
    const id = c.req.param("id") ?? "";
    const view = upstreamView(proxy.stats(), id);
    if (!view) throw unknownUpstream(id);
    return c.json(view);
  });
  app.get("/routes", read, (c) => c.json({ routes: routeViews(proxy.stats()) }));
  app.get("/config", read, (c) => {
    return c.json({ path: proxy.configPath ?? null, generation: proxy.stats().generation, config: redactConfig(proxy.config) });
  });
  return app;
}
