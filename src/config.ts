/**
 * The config: its schema (validated with zod), defaults, and loading from a
 * JSON file. Every error names the source, the field path and what is wrong.
 *
 * ```json
 * {
 *   "workers": 2,
 *   "admin": { "listen": "127.0.0.1:9090" },
 *   "listeners": [
 *     { "name": "db", "listen": "127.0.0.1:6432", "upstreams": ["127.0.0.1:5432"],
 *       "connectTimeout": "5s", "idleTimeout": "10m", "sendTimeout": "60s", "maxConnections": 10000 }
 *   ]
 * }
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { parseHostPort } from "./address.ts";
import { parseDuration, parseSize } from "./duration.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";

const hostPort = z.string().superRefine((text, ctx) => {
  try {
    parseHostPort(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

function converted(parse: (v: string | number) => number, min: number, max: number) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      const n = parse(v);
      if (n < min || n > max) throw new RangeError(`must be between ${min} and ${max}, got ${v}`);
      return n;
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });
}

const duration = (min: number, max: number) => converted(parseDuration, min, max);
const DAY = 86_400_000;

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "use 1-64 letters, digits, _ . -");

/** Settings every listener has. */
const listenerCommon = {
  name: name.optional(),
  listen: hostPort,
  connectTimeout: duration(1, DAY).default(5000),
  /** A destination that takes no byte for this long while bytes wait for it (zero window) ends the connection. */
  sendTimeout: duration(1, DAY).default(60_000),
  maxConnections: z.number().int().min(1).max(10_000_000).default(100_000),
  backlog: z.number().int().min(1).max(65535).default(4096),
};

/** Schema of one TCP listener. */
export const TcpListenerSchema = z.strictObject({
  ...listenerCommon,
  mode: z.literal("tcp"),
  upstreams: z.array(hostPort).min(1, "needs at least one upstream"),
  idleTimeout: duration(1, 30 * DAY).default(600_000),
});

const headerOps = z.strictObject({
  set: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "not a valid header name"), z.string()
    .regex(/^[^\0\r\n]*$/, "header values cannot contain CR, LF or NUL")).default({}),
  remove: z.array(z.string().min(1)).default([]),
});

const hostPattern = z.string().regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d+)?$/, "use a host name, or *.example.com");

/** Schema of one HTTP route: matched in order on host and path prefix. */
export const RouteSchema = z.strictObject({
  name: name.optional(),
  host: hostPattern.optional(),
  path: z.string().startsWith("/", "must start with /").default("/"),
  upstreams: z.array(hostPort).min(1, "needs at least one upstream").optional(),
  static: z.strictObject({
    root: z.string().min(1),
    index: z.string().min(1).default("index.html"),
    /** Paths with a segment starting with "." (`/.env`, `/.git/config`): 404 unless "allow". */
    dotfiles: z.enum(["deny", "allow"]).default("deny"),
  }).optional(),
  stripPrefix: z.boolean().default(false),
  requestHeaders: headerOps.optional(),
  responseHeaders: headerOps.optional(),
  maxBodySize: converted(parseSize, 0, Number.MAX_SAFE_INTEGER).default(Number.MAX_SAFE_INTEGER),
}).superRefine((r, ctx) => {
  if ((r.upstreams === undefined) === (r.static === undefined)) {
    ctx.addIssue({ code: "custom", message: "needs exactly one of upstreams or static" });
  }
});

/** Schema of one HTTP/1.1 listener. */
export const HttpListenerSchema = z.strictObject({
  ...listenerCommon,
  mode: z.literal("http"),
  routes: z.array(RouteSchema).min(1, "needs at least one route"),
  idleTimeout: duration(1, DAY).default(60_000),
  headTimeout: duration(1, DAY).default(10_000),
  upstreamTimeout: duration(1, DAY).default(60_000),
  maxHeadBytes: converted(parseSize, 1024, 1 << 20).default(16 * 1024),
  upstreamKeepAlive: z.number().int().min(0).max(10_000).default(32),
  accessLog: z.string().min(1).default("off"),
});

/** Schema of one listener: `mode` picks TCP (the default) or HTTP. */
export const ListenerSchema = z.preprocess(
  (v) => (v !== null && typeof v === "object" && !("mode" in v) ? { ...v, mode: "tcp" } : v),
  z.discriminatedUnion("mode", [TcpListenerSchema, HttpListenerSchema]),
);

/** Schema of the admin server. */
export const AdminSchema = z.strictObject({
  listen: hostPort,
  /** Bearer token for the admin API (prefer tokenFile or SPLICED_ADMIN_TOKEN). */
  token: z.string().min(16, "use at least 16 characters").optional(),
  /** File holding the bearer token (first line). */
  tokenFile: z.string().min(1).optional(),
  /** An idle keep-alive admin connection is closed after this long. */
  idleTimeout: duration(1000, DAY).default(30_000),
  /** Open `/events` streams past this many get 503. */
  maxEventStreams: z.number().int().min(1).max(10_000).default(64),
});

/** Schema of the whole config. */
export const ConfigSchema = z.strictObject({
  workers: z.number().int().min(1).max(256).default(() => availableParallelism()),
  pipeSize: converted(parseSize, 4096, 1 << 30).default(1 << 20),
  gracePeriod: duration(0, DAY).default(30_000),
  admin: AdminSchema.optional(),
  listeners: z.array(ListenerSchema).min(1, "needs at least one listener"),
}).superRefine(uniqueNames);

/** The config as written by a person or program (durations may be strings). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** The validated config with defaults filled in and units converted (ms, bytes). */
export type Config = z.output<typeof ConfigSchema>;
/** One validated route, named. */
export type RouteConfig = z.output<typeof RouteSchema> & { name: string };
/** One validated TCP listener. */
export type TcpListenerConfig = z.output<typeof TcpListenerSchema> & { name: string };
/** One validated HTTP listener, its routes named. */
export type HttpListenerConfig = Omit<z.output<typeof HttpListenerSchema>, "routes"> & { name: string; routes: RouteConfig[] };
/** One validated listener. */
export type ListenerConfig = TcpListenerConfig | HttpListenerConfig;
/** A validated config whose listeners all have names. */
export type ValidConfig = Omit<Config, "listeners"> & { listeners: ListenerConfig[] };

function uniqueNames(cfg: { listeners: { name?: string; routes?: { name?: string }[] }[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  cfg.listeners.forEach((l, i) => {
    const name = l.name ?? `listener${i}`;
    if (seen.has(name)) ctx.addIssue({ code: "custom", path: ["listeners", i, "name"], message: `duplicate name "${name}"` });
    seen.add(name);
    const routes = new Set<string>();
    l.routes?.forEach((r, j) => {
      const route = r.name ?? `route${j}`;
      if (routes.has(route)) ctx.addIssue({ code: "custom", path: ["listeners", i, "routes", j, "name"], message: `duplicate name "${route}"` });
      routes.add(route);
    });
  });
}

/** Formats a zod path as `listeners[0].upstreams[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("");
}

/** Validates a config object; throws ConfigError naming `source`. */
export function validateConfig(input: unknown, source: string): ValidConfig {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
    throw new ConfigError(source, issues);
  }
  const cfg = result.data;
  const listeners = cfg.listeners.map((l, i): ListenerConfig => {
    const named = l.name ?? `listener${i}`;
    if (l.mode === "tcp") return { ...l, name: named };
    return { ...l, name: named, routes: l.routes.map((r, j) => ({ ...r, name: r.name ?? `route${j}` })) };
  });
  return { ...cfg, listeners };
}

/**
 * Reads a text file named by a config; a failure is a ConfigError naming
 * `source` and the field path, with `what` (e.g. `cannot read`) and the reason.
 */
export function readConfiguredFile(path: string, source: string, field: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : String(code ?? err);
    throw new ConfigError(source, [{ path: field, message: `${what}: ${why}` }]);
  }
}

/** Reads and validates a JSON config file; throws ConfigError naming the file. */
export function loadConfigFile(path: string): ValidConfig {
  const text = readConfiguredFile(path, path, "", "cannot read");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [{ path: "", message: `invalid JSON: ${(err as Error).message}` }]);
  }
  return validateConfig(json, path);
}
