/**
 * 405 for a known path asked with a method it does not serve (`GET
 * /reload`, `POST /stats`), with the `Allow` header; unknown paths stay 404.
 *
 * Hono's default router does not keep registration order between different
 * patterns that match one path (`/upstreams/:id{.+}` and
 * `/upstreams/:id{.+}/drain`), so every `/upstreams/...` path is one pattern,
 * `/upstreams/:id{.+}`, whose handlers split the action off the id
 * ({@link splitAction}).
 *
 * @module
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { AdminError } from "./errors.ts";

/** The actions of `/upstreams/ID/ACTION` and the method of each. */
export const UPSTREAM_ACTIONS: Readonly<Record<string, string>> = { drain: "POST", enable: "POST", disable: "POST", weight: "PUT" };

/** Splits `ID/ACTION` into the upstream id and the action (none for a plain `ID`). */
export function splitAction(param: string): { id: string; action?: string } {
  const slash = param.lastIndexOf("/");
  const last = param.slice(slash + 1);
  if (slash > 0 && Object.hasOwn(UPSTREAM_ACTIONS, last)) return { id: param.slice(0, slash), action: last };
  return { id: param };
}

/** The methods `/upstreams/PARAM` answers. */
export function upstreamAllow(param: string): string {
  const { action } = splitAction(param);
  return action === undefined ? "GET, HEAD, DELETE" : UPSTREAM_ACTIONS[action];
}

/** The 405 for this request (and its `Allow` header). */
export function wrongMethod(c: Context, allow: string): AdminError {
  c.header("allow", allow);
  return new AdminError(405, "method_not_allowed", `${c.req.method} ${c.req.path}: use ${allow.replace(/, (?=[^,]*$)/, " or ")}`, { allow });
}

/** Middleware: 405 unless `/upstreams/:id` names an action served by this request's method. */
export function upstreamMethod(): MiddlewareHandler {
  return async (c, next) => {
    const allow = upstreamAllow(c.req.param("id") ?? "");
    if (!allow.split(", ").includes(c.req.method)) throw wrongMethod(c, allow);
    await next();
  };
}

/**
 * A router answering 405 on each of `paths` (with `Allow: allow`), plus
 * `/upstreams/:id{.+}` (its `Allow` by action). Mount it after the routes of
 * those paths: it answers only the methods they left.
 */
export function methodNotAllowed(paths: readonly string[], allow: string): Hono {
  const app = new Hono();
  for (const path of paths) app.all(path, (c) => { throw wrongMethod(c, allow); });
  app.all("/upstreams/:id{.+}", (c) => { throw wrongMethod(c, upstreamAllow(c.req.param("id") ?? "")); });
  return app;
}
