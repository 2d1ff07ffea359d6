/**
 * The admin API as a Hono app. Mount it into your own Hono app:
 *
 * ```ts
 * import { Hono } from "hono";
 * import { adminApp, startProxy } from "spliced";
 * const proxy = await startProxy({ listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:5432"] }] });
 * const app = new Hono();
 * app.route("/proxy", adminApp(proxy));
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import type { Proxy } from "../proxy.ts";

/** Options of the admin app. */
export interface AdminOptions {
  /** Reserved for later: bearer token for control endpoints. */
  readonly token?: string;
}

/** Builds the admin Hono app for a running proxy. */
export function adminApp(proxy: Proxy, _options: AdminOptions = {}): Hono {
  const app = new Hono();
  app.get("/stats", (c) => c.json(proxy.stats()));
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  return app;
}
