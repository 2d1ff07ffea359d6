/**
 * A TLS route as the workers get it: a {@linkcode RouteInit} whose `host` is
 * the route's `sni` pattern (undefined: the default route) and whose HTTP-only
 * fields keep their neutral values, so stats, readiness and `/routes` treat
 * TLS routes like any other.
 *
 * @module
 */
import type { RouteInit } from "../dataplane/protocol.ts";

/** The RouteInit of TLS route `id` (`listener/route`), global index `index`, balancing group `group`. */
export function tlsRouteInit(index: number, id: string, sni: string | undefined, group: number): RouteInit {
  return {
    index, id, host: sni?.toLowerCase(), path: "/", stripPrefix: false, group,
    staticRoot: undefined, staticIndex: "index.html", staticDotfiles: "deny",
    requestHeaders: undefined, responseHeaders: undefined, maxBodySize: Number.MAX_SAFE_INTEGER,
  };
}
