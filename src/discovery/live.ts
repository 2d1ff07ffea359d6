/**
 * Upstreams added and removed at run time (admin `POST /upstreams`,
 * `DELETE /upstreams/:id`, `Proxy.addUpstream` / `removeUpstream`). They live
 * beside the config file, not in it: the proxy runs the file's config plus
 * these changes, and a restart or a reload from the file forgets them.
 *
 * @module
 */
import { checkUpstreamAddress } from "../address.ts";
import type { ListenerConfig, ValidConfig } from "../config/schema.ts";

/** What `addUpstream` takes: the listener, the route of an HTTP or TLS listener, the upstream. */
export interface UpstreamRequest {
  readonly listener: string;
  /** The route name (as in the config; required for an HTTP or TLS listener, absent for TCP). */
  readonly route?: string;
  readonly address: string;
  /** 0-1000, default 1. */
  readonly weight?: number;
  /** Gets traffic only when no primary of its group is usable (default false). */
  readonly backup?: boolean;
}

/** An accepted request: where it goes and the entry to append there. */
export interface AddedUpstream {
  readonly listener: string;
  readonly route?: string;
  /** The id prefix of its group: `listener` or `listener/route`. */
  readonly prefix: string;
  readonly entry: { readonly address: string; readonly weight: number; readonly backup: boolean };
}

/** Why an upstream change was refused: `invalid` (a bad field), `exists`, `unknown` (no such id), `last` (its group would be empty). */
export class UpstreamChangeError extends Error {
  override name = "UpstreamChangeError";
  constructor(readonly kind: "invalid" | "exists" | "unknown" | "last", readonly field: string, message: string) {
    super(message);
  }
}

const FIELDS = ["listener", "route", "address", "weight", "backup"];

const invalid = (field: string, message: string) => new UpstreamChangeError("invalid", field, `${field}: ${message}`);

/** Checks a request against the running config; throws UpstreamChangeError naming the field. */
export function checkAddRequest(config: ValidConfig, req: Record<string, unknown>): AddedUpstream {
  for (const key of Object.keys(req)) if (!FIELDS.includes(key)) throw invalid(key, `unknown field (expected ${FIELDS.join(", ")})`);
  const listener = findListener(config, req.listener);
  const prefix = routePrefix(listener, req.route);
  if (typeof req.address !== "string") throw invalid("address", "required: a string HOST:PORT");
  try {
    checkUpstreamAddress(req.address);
  } catch (err) {
    throw invalid("address", (err as Error).message);
  }
  const w = req.weight ?? 1;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 1000) {
    throw invalid("weight", `expected an integer from 0 to 1000, got ${JSON.stringify(w)}`);
  }
  if (req.backup !== undefined && typeof req.backup !== "boolean") throw invalid("backup", `expected true or false, got ${JSON.stringify(req.backup)}`);
  const entry = { address: req.address.trim(), weight: w, backup: req.backup === true };
  return { listener: listener.name, route: req.route as string | undefined, prefix, entry };
}

function findListener(config: ValidConfig, name: unknown): ListenerConfig {
  if (typeof name !== "string") throw invalid("listener", "required: the name of a listener");
  const l = config.listeners.find((x) => x.name === name);
  if (!l) throw invalid("listener", `no listener named ${JSON.stringify(name)} (listeners: ${config.listeners.map((x) => x.name).join(", ")})`);
  return l;
}

function routePrefix(l: ListenerConfig, route: unknown): string {
  if (l.mode === "tcp") {
    if (route !== undefined) throw invalid("route", `listener ${JSON.stringify(l.name)} is a tcp listener: it has no routes`);
    return l.name;
  }
  if (typeof route !== "string") throw invalid("route", `required for the ${l.mode} listener ${JSON.stringify(l.name)}: the name of one of its routes`);
  const r = (l.routes as { name: string; upstreams?: unknown }[]).find((x) => x.name === route);
  if (!r) throw invalid("route", `listener ${JSON.stringify(l.name)} has no route named ${JSON.stringify(route)}`);
  if (!r.upstreams) throw invalid("route", `route ${JSON.stringify(route)} serves static files: it has no upstreams`);
  return `${l.name}/${route}`;
}

/** `config` with each addition appended to its listener's or route's upstreams. */
export function withAdditions(config: ValidConfig, added: readonly AddedUpstream[]): ValidConfig {
  if (added.length === 0) return config;
  const listeners = config.listeners.map((l): ListenerConfig => {
    const mine = added.filter((a) => a.listener === l.name);
    if (mine.length === 0) return l;
    if (l.mode === "tcp") return { ...l, upstreams: [...l.upstreams, ...mine.map((a) => a.entry)] };
    const routes = l.routes.map((r) => {
      const extra = mine.filter((a) => a.route === r.name).map((a) => a.entry);
      return extra.length && r.upstreams ? { ...r, upstreams: [...r.upstreams, ...extra] } : r;
    });
    return { ...l, routes } as ListenerConfig;
  });
  return { ...config, listeners };
}
