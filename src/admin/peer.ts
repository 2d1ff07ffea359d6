/**
 * The client address of a request to a mounted admin app, read from what the
 * server passes as Hono's `c.env`: Deno's serve `info.remoteAddr`,
 * Bun's serve `server.requestIP(req)`, `@hono/node-server`'s
 * `incoming.socket`. Undefined when the server passes none of these (then the
 * library defaults treat the client as remote: the safe side).
 *
 * @module
 */
import type { Context } from "hono";
import { isLoopback } from "./auth.ts";

interface PeerEnv {
  remoteAddr?: { hostname?: unknown };
  requestIP?: (req: Request) => { address?: unknown } | null;
  incoming?: { socket?: { remoteAddress?: unknown } };
}

/** The client IP of this request as its server reports it, or undefined. */
export function peerAddress(c: Context): string | undefined {
  const env = c.env as PeerEnv | undefined;
  if (env === null || typeof env !== "object") return undefined;
  let ip: unknown;
  try {
    ip = env.remoteAddr?.hostname ??
      (typeof env.requestIP === "function" ? env.requestIP(c.req.raw)?.address : undefined) ??
      env.incoming?.socket?.remoteAddress;
  } catch {
    return undefined;
  }
  return typeof ip === "string" ? ip : undefined;
}

/** True when the server reports a loopback client (false when it reports none). */
export function fromLoopback(c: Context): boolean {
  const ip = peerAddress(c);
  return ip !== undefined && isLoopback(ip);
}
