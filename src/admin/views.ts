/**
 * The JSON documents of the read endpoints, built from a stats snapshot and
 * the running config. Their field names are a stable interface (see README).
 *
 * @module
 */
import type { ValidConfig } from "../config.ts";
import type { Counters, StatsSnapshot } from "../stats/aggregate.ts";
import type { HealthView } from "../health/monitor.ts";

/** One upstream as `/upstreams` shows it: identity, state, weight, counters. */
export type UpstreamView = {
  readonly id: string;
  readonly listener: string;
  /** The HTTP route (`listener/route`, as in `/routes`) it serves; null for a TCP listener's. */
  readonly route: string | null;
  readonly address: string;
  readonly state: string;
  readonly weight: number;
  /** Gets traffic only when no primary of its group is usable. */
  readonly backup: boolean;
  /** Connections in use to it now, across workers (what leastconn and random2 compare). */
  readonly in_use: number;
} & Counters & Partial<HealthView>;

/**
 * One route as `/routes` shows it. A TCP listener is one route that matches
 * everything (`id` = the listener name, `match: null`); an HTTP listener has
 * its ordered routes (`id` = `listener/route`, `match` = host and path prefix).
 */
export interface RouteView {
  readonly id: string;
  readonly listener: string;
  readonly mode: string;
  readonly listen: string;
  /** What the route matches on; `null`: everything. A TLS route: its `sni` pattern (null: the default route). */
  readonly match: null | { readonly host: string | null; readonly path: string } | { readonly sni: string | null };
  /** `upstreams`, or `static:ROOT` for a static file route. */
  readonly target: string;
  /** Upstream ids, as in `/upstreams`. */
  readonly upstreams: string[];
}

function view(id: string, u: StatsSnapshot["upstreams"][string]): UpstreamView {
  const route = id.slice(0, id.lastIndexOf("/"));
  const { listener, address, state, weight, ...counters } = u;
  return { id, listener, route: route === listener ? null : route, address, state, weight, ...counters };
}

/** Every upstream, in config order. */
export function upstreamViews(stats: StatsSnapshot): UpstreamView[] {
  return Object.entries(stats.upstreams).map(([id, u]) => view(id, u));
}

/** One upstream by id, or undefined. */
export function upstreamView(stats: StatsSnapshot, id: string): UpstreamView | undefined {
  return Object.hasOwn(stats.upstreams, id) ? view(id, stats.upstreams[id]) : undefined;
}

/** The routes, in config order: one per TCP listener, every route of an HTTP listener. */
export function routeViews(stats: StatsSnapshot): RouteView[] {
  const ids = Object.keys(stats.upstreams);
  const under = (prefix: string) => ids.filter((id) => id.startsWith(`${prefix}/`) && !id.slice(prefix.length + 1).includes("/"));
  const routes = Object.entries(stats.routes ?? {});
  return Object.entries(stats.listeners).flatMap(([listener, l]): RouteView[] => {
    if (l.mode === "tcp") {
      return [{ id: listener, listener, mode: l.mode, listen: l.listen, match: null, target: "upstreams", upstreams: under(listener) }];
    }
    return routes.filter(([, r]) => r.listener === listener).map(([id, r]) => ({
      id, listener, mode: l.mode, listen: l.listen, match: l.mode === "tls" ? { sni: r.host } : { host: r.host, path: r.path },
      target: r.target, upstreams: under(id),
    }));
  });
}

/** Placeholder shown for a secret in `/config`. */
export const REDACTED = "[redacted]";

/**
 * The running config with secrets replaced by {@link REDACTED}: the admin
 * token and token file, and every header value a route sets
 * (`requestHeaders.set`, `responseHeaders.set`: an upstream's `Authorization`
 * is a secret). Header names stay visible.
 */
export function redactConfig(config: ValidConfig): ValidConfig {
  const listeners = config.listeners.map((l) => l.mode === "http" ? { ...l, routes: l.routes.map(redactRoute) } : l);
  if (!config.admin) return { ...config, listeners };
  const admin = { ...config.admin };
  if (admin.token !== undefined) admin.token = REDACTED;
  if (admin.tokenFile !== undefined) admin.tokenFile = REDACTED;
  return { ...config, admin, listeners };
}

type Route = Extract<ValidConfig["listeners"][number], { mode: "http" }>["routes"][number];

function redactRoute(route: Route): Route {
  const out = { ...route };
  if (route.requestHeaders) out.requestHeaders = { ...route.requestHeaders, set: redactValues(route.requestHeaders.set) };
  if (route.responseHeaders) out.responseHeaders = { ...route.responseHeaders, set: redactValues(route.responseHeaders.set) };
  return out;
}

function redactValues(set: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(set).map((name) => [name, REDACTED]));
}
