/**
 * Route matching for HTTP listeners: routes are tried in order; a route
 * matches on host (exact, or `*.example.com` for any subdomain) and on path
 * prefix (at a segment boundary unless the prefix ends with `/`).
 *
 * Routes match the normalised path ({@linkcode normalizePath}: dot-segments
 * resolved, encoded dot-segments refused), never the target as sent, so
 * `/api/../internal` is `/internal` and cannot match a route `/api`. The
 * session normalises once, answers 400 when that refuses the target, routes
 * with {@linkcode matchPath} and forwards the same normalised path.
 *
 * @module
 */
import { normalizePath } from "../http/path.ts";
import type { RouteInit } from "./protocol.ts";

/**
 * The first route matching `host` and the target as sent (origin- or
 * absolute-form), matched on its normalised path; undefined when no route
 * matches or the target is refused by {@linkcode normalizePath} (which a
 * caller that can answer 400 should call itself, then {@linkcode matchPath}).
 */
export function matchRoute(routes: readonly RouteInit[], host: string | undefined, target: string): RouteInit | undefined {
  const path = normalizePath(target);
  return path === null ? undefined : matchPath(routes, host, path);
}

/** The first route matching `host` and `path`, an already normalised origin-form target; or undefined. */
export function matchPath(routes: readonly RouteInit[], host: string | undefined, path: string): RouteInit | undefined {
  const bareHost = host === undefined ? undefined : stripPort(host.toLowerCase());
  for (const route of routes) {
    if (route.host !== undefined && !hostMatches(route.host.toLowerCase(), host?.toLowerCase(), bareHost)) continue;
    if (pathMatches(route.path, path)) return route;
  }
  return undefined;
}

function stripPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

/** Exact host (with or without the port) or a `*.` wildcard for subdomains. */
export function hostMatches(pattern: string, host: string | undefined, bareHost: string | undefined): boolean {
  if (host === undefined || bareHost === undefined) return false;
  if (pattern.startsWith("*.")) {
    const suffix = pattern.slice(1);
    return bareHost.endsWith(suffix) && bareHost.length > suffix.length;
  }
  return pattern === host || pattern === bareHost;
}

/** Path prefix match on the target's path (query ignored), at a segment boundary. */
export function pathMatches(prefix: string, target: string): boolean {
  if (prefix === "/") return true;
  if (!target.startsWith(prefix)) return false;
  if (prefix.endsWith("/") || target.length === prefix.length) return true;
  const next = target[prefix.length];
  return next === "/" || next === "?" || next === "#";
}
