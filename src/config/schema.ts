/**
 * The config schema (zod): types, defaults, units, and every check that needs
 * neither the file system nor DNS (those are in `preflight.ts`). The messages
 * written here are spliced's own; zod's defaults are replaced in `messages.ts`.
 *
 * @module
 */
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { addressesOverlap, checkListenAddress, checkUpstreamAddress, formatHostPort, parseHostPort, type HostPort } from "../address.ts";
import { parseDuration, parseSize } from "../duration.ts";
import { isToken } from "../http/chars.ts";
import { RESERVED_HEADERS } from "../http/rewrite.ts";
import { checkProxyProtocol, proxyProtocolKeys, sendProxyProtocol } from "./proxy_protocol.ts";
import { hashKeyProblem } from "../balance/hashkey.ts";
import { BALANCE_POLICIES } from "../balance/policies.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../log/format.ts";
import { parseExpect } from "../health/expect.ts";

/** A string checked by `check` (which throws with the message to show). */
function address(check: (text: string) => unknown) {
  return z.string().superRefine((text, ctx) => {
    try {
      check(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });
}

/** A listener's address: an IP literal and a port. */
const listenAddress = address(checkListenAddress);
/** An upstream: a host name or IP literal and a port from 1 to 65535. */
const upstreamAddress = address(checkUpstreamAddress);

/** Schema of an upstream in its object form: address, config weight (the initial weight), backup. */
export const UpstreamObjectSchema = z.strictObject({
  address: upstreamAddress,
  weight: z.number().int().min(0).max(1000).default(1),
  backup: z.boolean().default(false),
});

/** An upstream in a list: `"HOST:PORT"` or `{ "address": "HOST:PORT", "weight": 3, "backup": true }`. */
const upstreamEntry = z.union([upstreamAddress, UpstreamObjectSchema]);
/** One validated upstream entry: its text, or the object form with defaults filled in. */
export type UpstreamEntry = z.output<typeof upstreamEntry>;

/** The address, config weight and role of an upstream entry. */
export function upstreamEntryOf(u: UpstreamEntry): { address: string; weight: number; backup: boolean } {
  return typeof u === "string" ? { address: u, weight: 1, backup: false } : u;
}

/** `balance` and `hashKey` (TCP listeners and HTTP routes; checked together in `balanceKeys`). */
const balanceKeys = (mode: "tcp" | "http") => ({
  balance: z.enum(BALANCE_POLICIES).default("roundrobin"),
  hashKey: z.string().superRefine((text, ctx) => {
    const problem = hashKeyProblem(text, mode);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }).optional(),
});
/** The admin server's address: a host name or IP literal and a port. */
const adminAddress = address(parseHostPort);

function converted(parse: (v: string | number) => number, min: number, max: number, show: (n: number) => string) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      const n = parse(v);
      if (n < min || n > max) throw new RangeError(`must be from ${show(min)} to ${show(max)}, got ${JSON.stringify(v)}`);
      return n;
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });
}

/** A duration in ms, e.g. `86400000` as `24h`. */
export function showDuration(ms: number): string {
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A size in bytes, e.g. `1048576` as `1m`. */
export function showSize(n: number): string {
  if (n >= Number.MAX_SAFE_INTEGER) return String(n);
  for (const [unit, size] of [["g", 1024 ** 3], ["m", 1024 ** 2], ["k", 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

const duration = (min: number, max: number) => converted(parseDuration, min, max, showDuration);
const size = (min: number, max: number) => converted(parseSize, min, max, showSize);
const DAY = 86_400_000;

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "use 1-64 letters, digits, _ . -");

/** Settings every listener has. */
const listenerCommon = {
  name: name.optional(),
  listen: listenAddress,
  connectTimeout: duration(1, DAY).default(5000),
  /** A destination that takes no byte for this long while bytes wait for it (zero window) ends the connection. */
  sendTimeout: duration(1, DAY).default(60_000),
  maxConnections: z.number().int().min(1).max(10_000_000).default(100_000),
  backlog: z.number().int().min(1).max(65535).default(4096),
};

/** Schema of a health check's `http` block: the request an active check sends, and the statuses that pass. */
export const HealthHttpSchema = z.strictObject({
  method: z.string().refine(isToken, "not a valid method (letters, digits and !#$%&'*+-.^_`|~)").default("GET"),
  path: z.string().regex(/^\/[\x21-\x7e]*$/, "must start with / and hold visible ASCII only").default("/"),
  /** Host header of the check (default: the upstream's HOST:PORT as written). */
  host: z.string().regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/, "use a host name or IP address, with an optional :PORT").optional(),
  expect: z.string().superRefine((text, ctx) => {
    try {
      parseExpect(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  }).default("200-399"),
});

/**
 * Schema of `healthCheck` (a TCP listener's or an HTTP route's): active checks
 * every `interval` (a TCP connect, or the `http` request), and the passive
 * settings (`fall` failures by real traffic, `passive5xx`, `cooldown`).
 * Active checks run when any of `interval`, `timeout`, `rise` or `http` is
 * given; defaults (2s, 1s, 2, fall 3, cooldown 10s) are filled in by
 * `health/settings.ts`.
 */
export const HealthCheckSchema = z.strictObject({
  interval: duration(10, DAY).optional(),
  timeout: duration(1, DAY).optional(),
  rise: z.number().int().min(1).max(1000).optional(),
  fall: z.number().int().min(1).max(1000).optional(),
  http: HealthHttpSchema.optional(),
  passive5xx: z.boolean().default(false),
  cooldown: duration(1, DAY).optional(),
});

/** Schema of one TCP listener. */
export const TcpListenerSchema = z.strictObject({
  ...listenerCommon,
  mode: z.literal("tcp"),
  upstreams: z.array(upstreamEntry).min(1, "needs at least one upstream"),
  ...balanceKeys("tcp"),
  idleTimeout: duration(1, 30 * DAY).default(600_000),
  healthCheck: HealthCheckSchema.optional(),
  /** One JSON line per closed connection (src/dataplane/tcp_log.ts). */
  accessLog: z.string().min(1).default("off"),
  ...proxyProtocolKeys,
}).superRefine(checkProxyProtocol);

const headerName = z.string().refine(isToken, "not a valid header name (letters, digits and !#$%&'*+-.^_`|~)");

/**
 * A header value the data plane can send: visible ASCII, spaces and tabs
 * (what its head writer encodes), not starting or ending with a space or tab.
 */
const headerValue = z.string().superRefine((value, ctx) => {
  const bad = /[^\t\x20-\x7e]/.exec(value);
  if (bad) {
    const c = bad[0].codePointAt(0)!;
    const printable = c >= 0xa0 && c !== 0x2028 && c !== 0x2029 && !(c >= 0xd800 && c <= 0xdfff);
    const shown = printable ? `"${String.fromCodePoint(c)}" (U+${hex(c)})` : `U+${hex(c)}`;
    ctx.addIssue({ code: "custom", message: `header values may hold visible ASCII, spaces and tabs only; ${shown} at character ${bad.index + 1} is not` });
  } else if (/^[\t ]|[\t ]$/.test(value)) {
    ctx.addIssue({ code: "custom", message: "header values cannot start or end with a space or tab" });
  }
});

function hex(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, "0");
}

/** Schema of `requestHeaders` / `responseHeaders`. */
export const HeaderOpsSchema = z.strictObject({
  set: z.record(headerName, headerValue).default({}),
  remove: z.array(headerName).default([]),
});

const hostPattern = z.string().regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d+)?$/, "use a host name, or *.example.com");

/** Schema of a route's `static` block. */
export const StaticSchema = z.strictObject({
  root: z.string().min(1),
  index: z.string().min(1).default("index.html"),
  /** Paths with a segment starting with "." (`/.env`, `/.git/config`): 404 unless "allow". */
  dotfiles: z.enum(["deny", "allow"]).default("deny"),
});

/** Schema of one HTTP route: matched in order on host and path prefix. */
export const RouteSchema = z.strictObject({
  name: name.optional(),
  host: hostPattern.optional(),
  path: z.string().startsWith("/", "must start with /").default("/"),
  upstreams: z.array(upstreamEntry).min(1, "needs at least one upstream").optional(),
  ...balanceKeys("http"),
  static: StaticSchema.optional(),
  stripPrefix: z.boolean().default(false),
  requestHeaders: HeaderOpsSchema.optional(),
  responseHeaders: HeaderOpsSchema.optional(),
  maxBodySize: size(0, Number.MAX_SAFE_INTEGER).default(Number.MAX_SAFE_INTEGER),
  healthCheck: HealthCheckSchema.optional(),
  /** Overrides the listener's `sendProxyProtocol` for this route. */
  sendProxyProtocol,
}).superRefine((r, ctx) => {
  if ((r.upstreams === undefined) === (r.static === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: r.upstreams === undefined
        ? `needs "upstreams" (["HOST:PORT", ...]) or "static" ({ "root": DIR })`
        : `has both "upstreams" and "static": a route takes exactly one`,
    });
  }
});

/** Header names the proxy writes or drops itself: a request id cannot travel in one of them. */
const PROXY_HEADERS = new Set([...RESERVED_HEADERS, "host", "expect", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "via"]);

/** Schema of an HTTP listener's `requestId`: the header that carries each request's id (kept, or made). */
export const RequestIdSchema = z.strictObject({
  header: headerName.refine((n) => !PROXY_HEADERS.has(n.toLowerCase()), "spliced writes this header itself: pick another name, as X-Request-ID")
    .default("X-Request-ID"),
});

/** Schema of one HTTP/1.1 listener. */
export const HttpListenerSchema = z.strictObject({
  ...listenerCommon,
  mode: z.literal("http"),
  routes: z.array(RouteSchema).min(1, "needs at least one route"),
  idleTimeout: duration(1, DAY).default(60_000),
  headTimeout: duration(1, DAY).default(10_000),
  upstreamTimeout: duration(1, DAY).default(60_000),
  maxHeadBytes: size(1024, 1 << 20).default(16 * 1024),
  upstreamKeepAlive: z.number().int().min(0).max(10_000).default(32),
  accessLog: z.string().min(1).default("off"),
  requestId: RequestIdSchema.optional(),
  ...proxyProtocolKeys,
}).superRefine(checkProxyProtocol).superRefine(checkRequestIdHeader);

/** A route's `requestHeaders.set` / `responseHeaders.set` may not name the request id header: it would go out twice. */
function checkRequestIdHeader(
  l: { requestId?: { header: string }; routes: readonly { requestHeaders?: { set: Record<string, string> }; responseHeaders?: { set: Record<string, string> } }[] },
  ctx: z.RefinementCtx,
): void {
  const id = l.requestId?.header.toLowerCase();
  if (id === undefined) return;
  l.routes.forEach((route, i) => {
    for (const ops of ["requestHeaders", "responseHeaders"] as const) {
      const name = Object.keys(route[ops]?.set ?? {}).find((n) => n.toLowerCase() === id);
      if (name !== undefined) {
        ctx.addIssue({ code: "custom", path: ["routes", i, ops, "set", name], message: `the request id header (requestId.header): spliced sets it itself` });
      }
    }
  });
}

/** A server name to route TLS on: `a.example.com`, or `*.example.net` for any subdomain. */
const sniPattern = z.string().regex(/^(\*\.)?([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}$/, "use a server name, as a.example.com, or *.example.net").max(253);

/** Schema of one TLS route: a server name (none: the default route) and its upstreams. */
export const TlsRouteSchema = z.strictObject({
  name: name.optional(),
  sni: sniPattern.optional(),
  upstreams: z.array(upstreamEntry).min(1, "needs at least one upstream"),
  ...balanceKeys("tcp"),
  /** Active and passive checks of this route's upstreams (a TCP connect, or `http` for a plain-HTTP health port). */
  healthCheck: HealthCheckSchema.optional(),
});

/** Schema of one TLS passthrough listener: routed by the ClientHello's SNI, never decrypted. */
export const TlsListenerSchema = z.strictObject({
  ...listenerCommon,
  mode: z.literal("tls"),
  routes: z.array(TlsRouteSchema).min(1, "needs at least one route"),
  idleTimeout: duration(1, 30 * DAY).default(600_000),
  /** A client that has not sent its whole ClientHello this long after connecting is closed. */
  clientHelloTimeout: duration(1, DAY).default(5000),
  /** One JSON line per closed connection (src/dataplane/tcp_log.ts). */
  accessLog: z.string().min(1).default("off"),
  ...proxyProtocolKeys,
}).superRefine((l, ctx) => {
  checkProxyProtocol(l, ctx);
  const seen = new Map<string, number>();
  l.routes.forEach((r, j) => {
    const key = r.sni?.toLowerCase() ?? "";
    const at = seen.get(key);
    if (at !== undefined) {
      const what = r.sni === undefined ? "a second default route (no \"sni\")" : `"sni" ${JSON.stringify(r.sni)} repeats`;
      ctx.addIssue({ code: "custom", path: ["routes", j, ...(r.sni === undefined ? [] : ["sni"])], message: `${what}: routes[${at}] already takes it` });
    } else seen.set(key, j);
  });
});

/** Schema of one listener: `mode` picks TCP (the default), HTTP or TLS. */
export const ListenerSchema = z.preprocess(
  (v) => (v !== null && typeof v === "object" && !Array.isArray(v) && !("mode" in v) ? { ...v, mode: "tcp" } : v),
  z.discriminatedUnion("mode", [TcpListenerSchema, HttpListenerSchema, TlsListenerSchema]),
);

/** Schema of the admin server. */
export const AdminSchema = z.strictObject({
  listen: adminAddress,
  /** Bearer token for the admin API (prefer tokenFile or SPLICED_ADMIN_TOKEN). */
  token: z.string().min(16, "use at least 16 characters").optional(),
  /** File holding the bearer token (first line). */
  tokenFile: z.string().min(1).optional(),
  /** An idle keep-alive admin connection is closed after this long. */
  idleTimeout: duration(1000, DAY).default(30_000),
  /** Open `/events` streams past this many get 503. */
  maxEventStreams: z.number().int().min(1).max(10_000).default(64),
});

/** A DNS server: an IP literal and a port. */
const dnsServer = z.string().refine((text) => {
  try {
    return isIP(parseHostPort(text).host) !== 0;
  } catch {
    return false;
  }
}, "expected IP:PORT of a DNS server, e.g. 127.0.0.1:53 or [::1]:53");

/** Schema of DNS discovery: upstreams given by host name are re-resolved every `refresh`. */
export const DnsSchema = z.strictObject({
  refresh: duration(100, DAY).default(30_000),
  /** Servers asked instead of the system resolver. */
  servers: z.array(dnsServer).min(1, "needs at least one server").optional(),
});

/** Schema of the process log (src/log/): line format and the least severe level shown. */
export const LogSchema = z.strictObject({
  format: z.enum(LOG_FORMATS).optional(),
  level: z.enum(LOG_LEVELS).optional(),
  /** A file the log is appended to instead of stderr (reopened on SIGUSR1). */
  file: z.string().min(1).refine((f) => f !== "off", 'the operational log cannot be off: give a file, or "-" for stderr').optional(),
});

/** Schema of the whole config. */
export const ConfigSchema = z.strictObject({
  workers: z.number().int().min(1).max(256).default(() => availableParallelism()),
  pipeSize: size(4096, 1 << 30).default(1 << 20),
  gracePeriod: duration(0, DAY).default(30_000),
  admin: AdminSchema.optional(),
  dns: DnsSchema.optional(),
  log: LogSchema.optional(),
  listeners: z.array(ListenerSchema).min(1, "needs at least one listener"),
}).superRefine((cfg, ctx) => {
  uniqueNames(cfg, ctx);
  distinctAddresses(cfg, ctx);
  hashKeysNeedHash(cfg, ctx);
});

type Refined = { listeners: readonly unknown[] };

function records(list: unknown): Record<string, unknown>[] {
  return Array.isArray(list) ? list.map((x) => (x !== null && typeof x === "object" ? x as Record<string, unknown> : {})) : [];
}

/** A `hashKey` without `"balance": "hash"` would be ignored: say so. */
function hashKeysNeedHash(cfg: Refined, ctx: z.RefinementCtx): void {
  const check = (o: Record<string, unknown>, path: (string | number)[]) => {
    if (o.hashKey !== undefined && o.balance !== "hash") {
      ctx.addIssue({ code: "custom", path: [...path, "hashKey"], message: `only used with "balance": "hash"` });
    }
  };
  records(cfg.listeners).forEach((l, i) => {
    check(l, ["listeners", i]);
    records(l.routes).forEach((r, j) => check(r, ["listeners", i, "routes", j]));
  });
}

function uniqueNames(cfg: Refined, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  records(cfg.listeners).forEach((l, i) => {
    const name = typeof l.name === "string" ? l.name : `listener${i}`;
    if (seen.has(name)) ctx.addIssue({ code: "custom", path: ["listeners", i, "name"], message: `duplicate name ${JSON.stringify(name)}` });
    seen.add(name);
    const routes = new Set<string>();
    records(l.routes).forEach((r, j) => {
      const route = typeof r.name === "string" ? r.name : `route${j}`;
      if (routes.has(route)) ctx.addIssue({ code: "custom", path: ["listeners", i, "routes", j, "name"], message: `duplicate name ${JSON.stringify(route)}` });
      routes.add(route);
    });
  });
}

/**
 * Two listeners on one address would both bind (SO_REUSEPORT) and split its
 * connections between them; a wildcard (`0.0.0.0`, `[::]`) and a specific
 * address on the same port overlap the same way.
 */
function distinctAddresses(cfg: Refined, ctx: z.RefinementCtx): void {
  const earlier: { at: number; hp: HostPort }[] = [];
  records(cfg.listeners).forEach((l, i) => {
    let hp: HostPort;
    try {
      hp = checkListenAddress(String(l.listen));
    } catch {
      return;
    }
    const clash = earlier.find((e) => addressesOverlap(e.hp, hp));
    if (clash) {
      const same = formatHostPort(clash.hp) === formatHostPort(hp);
      ctx.addIssue({
        code: "custom", path: ["listeners", i, "listen"],
        message: same
          ? `${formatHostPort(hp)} is also listeners[${clash.at}].listen: two listeners cannot share an address`
          : `${formatHostPort(hp)} overlaps listeners[${clash.at}].listen (${formatHostPort(clash.hp)}): the same port on addresses that cover each other`,
      });
    }
    earlier.push({ at: i, hp });
  });
}

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
/** One validated TLS route, named. */
export type TlsRouteConfig = z.output<typeof TlsRouteSchema> & { name: string };
/** One validated TLS passthrough listener, its routes named. */
export type TlsListenerConfig = Omit<z.output<typeof TlsListenerSchema>, "routes"> & { name: string; routes: TlsRouteConfig[] };
/** One validated listener. */
export type ListenerConfig = TcpListenerConfig | HttpListenerConfig | TlsListenerConfig;
/** A validated config whose listeners all have names. */
export type ValidConfig = Omit<Config, "listeners"> & { listeners: ListenerConfig[] };

/** Keys each object of the config may have, for "unknown key" messages. */
export const KEYS = {
  root: Object.keys(ConfigSchema.shape),
  admin: Object.keys(AdminSchema.shape),
  dns: Object.keys(DnsSchema.shape),
  log: Object.keys(LogSchema.shape),
  upstream: Object.keys(UpstreamObjectSchema.shape),
  tcp: Object.keys(TcpListenerSchema.shape),
  http: Object.keys(HttpListenerSchema.shape),
  tls: Object.keys(TlsListenerSchema.shape),
  tlsRoute: Object.keys(TlsRouteSchema.shape),
  route: Object.keys(RouteSchema.shape),
  static: Object.keys(StaticSchema.shape),
  headers: Object.keys(HeaderOpsSchema.shape),
  healthCheck: Object.keys(HealthCheckSchema.shape),
  healthHttp: Object.keys(HealthHttpSchema.shape),
  requestId: Object.keys(RequestIdSchema.shape),
} as const;
