/**
 * `GET /stats/history?window=15m|1h|24h[&since=UNIX_MS]` (the main thread's
 * stats history: src/stats/history.ts) and `GET /stats/latency?scope=KIND:NAME` (p50, p95,
 * p99 and count of each histogram since start, for the whole proxy or one
 * listener, route or upstream). Both read what the main thread already holds:
 * nothing is asked of the workers.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { Proxy } from "../proxy.ts";
import type { HistogramName, HistogramValue } from "../stats/histogram.ts";
import { HISTORY_WINDOWS, isHistoryWindow, type HistoryWindow } from "../stats/history.ts";
import { quantilesOf } from "../stats/rates.ts";
import { AdminError, badField } from "./errors.ts";

/** The paths {@link historyRoutes} serves (GET and HEAD only). */
export const HISTORY_PATHS = ["/stats/history", "/stats/latency"] as const;

const WINDOW_LIST = Object.keys(HISTORY_WINDOWS).join(", ");

/** Parses `?window=` (default 15m). */
export function parseWindow(text: string | undefined): HistoryWindow {
  if (text === undefined || text === "") return "15m";
  if (!isHistoryWindow(text)) throw badField("window", `expected one of ${WINDOW_LIST}, got "${text}"`);
  return text;
}

/** Parses `?since=` (Unix ms: only later points), absent for all. */
export function parseSince(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (!/^\d{1,16}$/.test(text)) throw badField("since", `expected a time in Unix milliseconds (as in "time"), got "${text}"`);
  return Number(text);
}

/** A latency scope: the whole proxy, or one listener, route (`listener/route`) or upstream. */
export type LatencyScope = { readonly kind: "totals" } | { readonly kind: "listener" | "route" | "upstream"; readonly name: string };

/** Parses `?scope=`: absent for the whole proxy, else `listener:NAME`, `route:LISTENER/ROUTE` or `upstream:ID`. */
export function parseScope(text: string | undefined): LatencyScope {
  if (text === undefined) return { kind: "totals" };
  const m = /^(listener|route|upstream):(.+)$/.exec(text);
  if (!m) throw badField("scope", `expected listener:NAME, route:LISTENER/ROUTE or upstream:ID (or no scope for the whole proxy), got "${text}"`);
  return { kind: m[1] as "listener" | "route" | "upstream", name: m[2] };
}

function histogramsOf(proxy: Proxy, scope: LatencyScope): Record<HistogramName, HistogramValue> {
  const h = proxy.histograms();
  if (scope.kind === "totals") return h.totals;
  const byName = scope.kind === "listener" ? h.listeners : scope.kind === "route" ? h.routes : h.upstreams;
  const found = Object.hasOwn(byName, scope.name) ? byName[scope.name] : undefined;
  if (!found) {
    throw new AdminError(404, "unknown_scope", `no ${scope.kind} "${scope.name}" (see GET /${scope.kind === "listener" ? "stats" : `${scope.kind}s`})`);
  }
  return found;
}

/** The history and latency routes, each behind `read`. */
export function historyRoutes(proxy: Proxy, read: MiddlewareHandler): Hono {
  const app = new Hono();
  app.get("/stats/history", read, (c) => c.json(proxy.history(parseWindow(c.req.query("window")), parseSince(c.req.query("since")))));
  app.get("/stats/latency", read, (c) => {
    const text = c.req.query("scope");
    const scope = parseScope(text);
    const histograms = Object.fromEntries(Object.entries(histogramsOf(proxy, scope)).map(([name, h]) => [name, quantilesOf(h)]));
    return c.json({ scope: text ?? null, since: "start", histograms });
  });
  return app;
}
