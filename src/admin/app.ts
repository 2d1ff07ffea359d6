/**
 * The admin API as a Hono app. Mount it into your own Hono app:
 *
 * ```ts
 * import { Hono } from "hono";
 * import { adminApp, startProxy } from "spliced";
 * const proxy = await startProxy({ listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:5432"] }] });
 * const app = new Hono();
 * app.route("/proxy", adminApp(proxy, { token: "a-long-random-secret" }));
 * ```
 *
 * Reads: `GET /stats`, `/stats/connections?limit=`, `/stats/history?window=15m|1h|24h`,
 * `/stats/latency?scope=listener:NAME|route:LISTENER/ROUTE|upstream:ID`, `/upstreams`, `/upstreams/:id`,
 * `/routes`, `/config`, `/metrics` (Prometheus), `/events` (SSE), `/healthz`, `/ready`.
 * Control (bearer token always): `POST /upstreams/:id/drain|enable|disable`,
 * `PUT /upstreams/:id/weight`, `POST /upstreams` (add), `DELETE /upstreams/:id` (drain, then remove),
 * `POST /reload`, `POST /shutdown`.
 * Dashboard: `GET /`. Upstream ids (`listener/host:port`) may be sent URL-encoded.
 *
 * @module
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import type { Proxy } from "../proxy.ts";
import { VERSION } from "../version.ts";
import { isLoopbackHostHeader, MIN_TOKEN_LENGTH, resolveAdminToken, TOKEN_ENV, tokenChecker } from "./auth.ts";
import { controlRoutes } from "./control.ts";
import { dashboardAsset, dashboardPage } from "./dashboard.ts";
import { debugRoutes, testHooksEnabled } from "./debug.ts";
import { AdminError, errorBody } from "./errors.ts";
import { EventHub } from "./events.ts";
import { methodNotAllowed } from "./methods.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { HISTORY_PATHS, historyRoutes } from "./history_routes.ts";
import { fromLoopback } from "./peer.ts";
import { READ_PATHS, readRoutes } from "./reads.ts";

/** Options of the admin app. */
export interface AdminOptions {
  /**
   * Bearer token for control endpoints (and for reads with `readsNeedToken`).
   * Default: the proxy config's `admin.tokenFile` / `admin.token`, else the
   * `SPLICED_ADMIN_TOKEN` environment variable. Without one, control endpoints answer 403.
   */
  readonly token?: string;
  /**
   * Require the token for every endpoint but the dashboard's static files. Default: only
   * when the client is not on loopback (as the CLI's loopback admin: reads open there
   * only). The client address is what the server passes as `c.env` (Deno's and Bun's own
   * servers, @hono/node-server); a server that passes none counts as remote.
   */
  readonly readsNeedToken?: boolean;
  /**
   * Answer only requests whose Host is localhost or a loopback address (DNS-rebinding
   * guard). Default: for clients on loopback, as the CLI does on a loopback address.
   */
  readonly loopbackHostsOnly?: boolean;
  /** Open `/events` streams past this many get 503 (default: the config's `admin.maxEventStreams`, else 64). */
  readonly maxEventStreams?: number;
  /** Largest request body accepted, bytes (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Receives one line per control action (drain, reload, shutdown...) and per failed reload. Default: silent. */
  readonly log?: (line: string) => void;
}

/** The admin app and what its server needs to shut it down. */
export interface Admin {
  readonly app: Hono;
  /** Ends every open `/events` stream (call before closing the HTTP server). */
  closeStreams(): void;
  /** Number of open `/events` streams. */
  openStreams(): number;
}

/** Builds the admin Hono app for a running proxy. Throws ConfigError for a bad token source. */
export function adminApp(proxy: Proxy, options: AdminOptions = {}): Hono {
  return createAdmin(proxy, options).app;
}

/** Builds the admin app and returns it with its stream control (used by the admin server). */
export function createAdmin(proxy: Proxy, options: AdminOptions = {}): Admin {
  const token = options.token ?? resolveAdminToken(proxy.config.admin);
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(`admin token too short: use at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const startedAt = Date.now() - proxy.stats().uptime_seconds * 1000;
  // Each event also carries the history's last few 1 s points (the dashboard appends the new ones).
  const hub = new EventHub(() => JSON.stringify({ time: Date.now(), ...proxy.stats(), history: proxy.history("15m", Date.now() - EVENT_HISTORY_MS) }));
  proxy.closed.then(() => hub.close());

  const app = new Hono();
  app.use("*", securityHeaders);
  app.use("*", hostCheck(options.loopbackHostsOnly));
  const read = readGuard(options.readsNeedToken, requireToken(token));
  const control = every(requireToken(token), bodyLimit({ maxSize: options.maxBodyBytes ?? 64 * 1024, onError: tooLarge }));
  const maxStreams = options.maxEventStreams ?? proxy.config.admin?.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS;
  const log = options.log ?? (() => {});

  app.get("/", dashboardPage);
  app.get("/assets/:name", dashboardAsset);
  app.get("/healthz", read, (c) => c.json({ status: "ok" }));
  app.get("/ready", read, (c) => {
    const r = proxy.readiness();
    return c.json({ ready: r.ready, reasons: r.reasons }, r.ready ? 200 : 503);
  });
  app.get("/metrics", read, (c) => {
    const info = { version: VERSION, ready: proxy.readiness().ready, startTimeSeconds: startedAt / 1000 };
    return c.body(renderMetrics(proxy.stats(), proxy.histograms(), info), 200, { "content-type": METRICS_CONTENT_TYPE });
  });
  app.get("/events", read, (c) => {
    if (hub.closed) throw new AdminError(503, "shutting_down", "the admin server is shutting down");
    if (hub.size >= maxStreams) {
      c.header("retry-after", "5");
      throw new AdminError(503, "too_many_streams", `${hub.size} /events streams are open (admin.maxEventStreams): try again later`);
    }
    return hub.open();
  });
  app.route("/", readRoutes(proxy, read));
  app.route("/", historyRoutes(proxy, read));
  app.route("/", controlRoutes(proxy, control, log));
  if (testHooksEnabled()) app.route("/", debugRoutes(proxy, control, log));
  const reads = READ_PATHS.filter((p) => p !== "/upstreams");
  app.route("/", methodNotAllowed(["/", "/assets/:name", "/healthz", "/ready", "/metrics", "/events", ...reads, ...HISTORY_PATHS], "GET, HEAD"));
  app.route("/", methodNotAllowed(["/upstreams"], "GET, HEAD, POST"));
  app.route("/", methodNotAllowed(["/reload", "/shutdown", ...(testHooksEnabled() ? ["/debug/worker-fault"] : [])], "POST"));

  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof AdminError) return c.json(errorBody(err.code, err.message, err.extra), err.status);
    return c.json(errorBody("internal", err instanceof Error ? err.message : String(err)), 500);
  });
  return { app, closeStreams: () => hub.close(), openStreams: () => hub.size };
}

/** How far back the history points of each `/events` message reach: three ticks, so none is missed between two messages. */
const EVENT_HISTORY_MS = 3500;

/** Default of `maxEventStreams` without a config value. */
export const DEFAULT_MAX_EVENT_STREAMS = 64;

const pass: MiddlewareHandler = async (_c, next) => await next();

/** The Host check: always, never, or (default) for clients on loopback. */
function hostCheck(always: boolean | undefined): MiddlewareHandler {
  if (always === false) return pass;
  return async (c, next) => {
    if (always || fromLoopback(c)) checkHost(c.req.header("host"));
    await next();
  };
}

/** The reads' guard: the token always, never, or (default) for clients not on loopback. */
function readGuard(needToken: boolean | undefined, tokenCheck: MiddlewareHandler): MiddlewareHandler {
  if (needToken !== undefined) return needToken ? tokenCheck : pass;
  return async (c, next) => fromLoopback(c) ? await next() : await tokenCheck(c, next);
}

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "no-referrer");
  c.header("x-frame-options", "DENY");
  if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
};

function checkHost(host: string | undefined): void {
  if (!isLoopbackHostHeader(host)) {
    throw new AdminError(403, "forbidden_host", `Host "${host}" is not a loopback name: this admin API answers only to localhost, 127.0.0.1 and [::1]`);
  }
}

function requireToken(token: string | undefined): MiddlewareHandler {
  const check = token === undefined ? undefined : tokenChecker(token);
  return async (c, next) => {
    if (!check) {
      throw new AdminError(403, "token_not_configured",
        `this endpoint needs an admin token, and none is set: start spliced with --admin-token-file FILE ` +
        `(or set admin.tokenFile, admin.token or ${TOKEN_ENV})`);
    }
    if (!check(c.req.header("authorization"))) {
      c.header("www-authenticate", 'Bearer realm="spliced admin"');
      throw new AdminError(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer TOKEN)");
    }
    await next();
  };
}

function tooLarge(c: Context): Response {
  return c.json(errorBody("body_too_large", "request body too large"), 413);
}
