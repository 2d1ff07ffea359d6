/**
 * Which route answers a request, and the target it is forwarded with: the
 * normalised origin-form path (see src/http/path.ts: dot-segments resolved,
 * encoded dot-segments refused with 400, absolute-form sent as origin-form).
 *
 * A connection keeps its last answer: a keep-alive client asking for the
 * same host and target again (the head parser hands out the same strings
 * for the same bytes) is routed without any work or allocation.
 *
 * @module
 */
import { normalizePath } from "../../http/path.ts";
import type { TargetForm } from "../../http/request.ts";
import type { RouteInit } from "../protocol.ts";
import { matchPath, matchRoute } from "../routes.ts";

/** Why a target is refused. */
export const REFUSED_TARGET = "request target with an encoded or hidden dot-segment, or a bad %-escape";

/** What routing reads of a request. */
export interface Routable {
  readonly target: string;
  readonly host: string | undefined;
  readonly targetForm: TargetForm;
}

/** The routing decision for one connection's latest request. */
export class RouteChoice {
  /** The matched route, or undefined when none matched. */
  route: RouteInit | undefined = undefined;
  /** The target to forward (normalised origin-form for origin and absolute targets). */
  target = "";
  /** True when the target must be refused with 400. */
  refused = false;
  #host: string | undefined = undefined;
  #raw = "";
  #routes: readonly RouteInit[] | null = null;

  /** Routes `req` among `routes` (the same inputs as last time cost nothing). */
  decide(routes: readonly RouteInit[], req: Routable): void {
    if (req.target === this.#raw && req.host === this.#host && routes === this.#routes) return;
    this.#raw = req.target;
    this.#host = req.host;
    this.#routes = routes;
    const form = req.targetForm;
    if (form !== "origin" && form !== "absolute") {
      this.#set(matchRoute(routes, req.host, req.target), req.target, false);
      return;
    }
    const path = isPlainPath(req.target) ? req.target : normalizePath(req.target);
    if (path === null) this.#set(undefined, req.target, true);
    else this.#set(matchPath(routes, req.host, path), path, false);
  }

  #set(route: RouteInit | undefined, target: string, refused: boolean): void {
    this.route = route;
    this.target = target;
    this.refused = refused;
  }
}

/** An origin-form target that normalisation leaves unchanged: no escape, no dot-segment, no backslash. */
export function isPlainPath(target: string): boolean {
  if (target.charCodeAt(0) !== 0x2f) return false;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f) return true; // the query is never touched
    if (c === 0x25 || c === 0x5c) return false; // % or \
    if (c === 0x2e && target.charCodeAt(i - 1) === 0x2f) return false; // "/." starts a possible dot-segment
  }
  return true;
}
