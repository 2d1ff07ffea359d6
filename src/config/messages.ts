/**
 * zod's issues as spliced's messages: what the field expects and what it got
 * ("missing: expected HOST:PORT", "expected a duration like 5s ..., got true"),
 * unknown keys with the key a typo most likely meant. Messages a schema wrote
 * itself are kept as they are.
 *
 * @module
 */
import type { z } from "zod";
import type { ConfigIssue } from "../errors.ts";
import { KEYS } from "./schema.ts";
import { suggest } from "./suggest.ts";

/** The message zod gives an issue the schema wrote no message for; replaced here. */
export const DEFAULT_MESSAGE = "\u0000default";

type Path = readonly PropertyKey[];
type Issue = z.core.$ZodIssue & { input?: unknown };

interface Field {
  /** What the field takes, after "expected". */
  readonly what: string;
  /** What a missing field needs, after "missing: expected" (default: `what`). */
  readonly missing?: string;
}

const DURATION: Field = { what: "a duration like 500ms, 5s, 10m or 1h, or a number of milliseconds" };
const SIZE: Field = { what: "a size like 65536, 64k or 1m, or a number of bytes" };
const COUNT: Field = { what: "a whole number" };
const HEADERS: Field = { what: `an object, as { "set": { "NAME": "VALUE" }, "remove": ["NAME"] }` };

const FIELDS: Record<string, Field> = {
  workers: { what: "a whole number of data-plane threads, 1 to 256" },
  pipeSize: SIZE,
  gracePeriod: DURATION,
  admin: { what: `an object, as { "listen": "127.0.0.1:9090" }` },
  listeners: { what: `a list of listeners, as [{ "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }]`, missing: `at least one listener, as "listeners": [{ "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }]` },
  name: { what: "a name of 1-64 letters, digits, _ . -" },
  mode: { what: `"tcp", "http" or "tls"` },
  sni: { what: "a server name, as a.example.com, or *.example.net" },
  clientHelloTimeout: DURATION,
  listen: { what: "HOST:PORT" },
  upstreams: { what: `a list of upstreams, as ["HOST:PORT", ...]`, missing: `at least one upstream, as "upstreams": ["HOST:PORT", ...]` },
  routes: { what: `a list of routes, as [{ "upstreams": ["HOST:PORT"] }]`, missing: `at least one route, as "routes": [{ "upstreams": ["HOST:PORT"] }]` },
  connectTimeout: DURATION,
  sendTimeout: DURATION,
  idleTimeout: DURATION,
  headTimeout: DURATION,
  upstreamTimeout: DURATION,
  maxConnections: COUNT,
  backlog: COUNT,
  upstreamKeepAlive: COUNT,
  maxEventStreams: COUNT,
  maxHeadBytes: SIZE,
  maxBodySize: SIZE,
  accessLog: { what: `a file path, "-" for stdout, or "off"` },
  requestId: { what: `an object, as { "header": "X-Request-ID" }` },
  header: { what: "a header name, as X-Request-ID" },
  host: { what: "a host name, or *.example.com" },
  path: { what: "a path starting with /" },
  static: { what: `an object, as { "root": "DIR" }` },
  root: { what: "a directory path" },
  index: { what: "a file name" },
  dotfiles: { what: `"deny" or "allow"` },
  stripPrefix: { what: "true or false" },
  requestHeaders: HEADERS,
  responseHeaders: HEADERS,
  set: { what: `an object of header names to values, as { "X-Name": "value" }` },
  remove: { what: `a list of header names, as ["X-Name"]` },
  token: { what: "a string of at least 16 characters" },
  tokenFile: { what: "a file path" },
  log: { what: `an object, as { "format": "json", "level": "info" }` },
  format: { what: `"text" or "json"` },
  level: { what: `"error", "warn", "info" or "debug"` },
  acceptProxyProtocol: { what: `"v1", "v2" or "any"` },
  sendProxyProtocol: { what: `"v1" or "v2"` },
  trustedProxies: { what: `a list of addresses or CIDRs, as ["10.0.0.0/8", "2001:db8::/32"]` },
  balance: { what: `"roundrobin", "leastconn", "random2" or "hash"` },
  hashKey: { what: `"clientIp", "path", "header:NAME" or "cookie:NAME"` },
  address: { what: "HOST:PORT" },
  weight: { what: "a whole number from 0 to 1000" },
  backup: { what: "true or false" },
  healthCheck: { what: `an object, as { "interval": "2s", "rise": 2, "fall": 3 }` },
  interval: DURATION,
  timeout: DURATION,
  cooldown: DURATION,
  rise: COUNT,
  fall: COUNT,
  http: { what: `an object, as { "path": "/healthz", "expect": "200-399" }` },
  method: { what: "an HTTP method, as GET" },
  expect: { what: `statuses like "200-399", "200" or "200,204"` },
  passive5xx: { what: "true or false" },
};

/** Elements of lists, by the list's key. */
const ELEMENTS: Record<string, Field> = {
  listeners: { what: `a listener object, as { "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }` },
  upstreams: { what: `HOST:PORT, or { "address": "HOST:PORT", "weight": 1, "backup": false }` },
  routes: { what: `a route object, as { "upstreams": ["HOST:PORT"] }` },
  remove: { what: "a header name" },
  trustedProxies: { what: "an address or CIDR, as 10.0.0.0/8" },
};

const ROOT: Field = { what: `a JSON object, as { "listeners": [...] }` };

/** What the field at `path` takes. */
function fieldAt(path: Path, expected: string | undefined): Field {
  if (path.length === 0) return ROOT;
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (typeof last === "number" && typeof parent === "string" && ELEMENTS[parent]) return ELEMENTS[parent];
  if (parent === "set" && typeof last === "string") return { what: "a header value (a string)" };
  if (typeof last === "string" && Object.hasOwn(FIELDS, last)) return FIELDS[last];
  return { what: TYPE_NAMES[expected ?? ""] ?? "a valid value" };
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string", number: "a number", int: "a whole number", boolean: "true or false",
  array: "a list", object: "an object", record: "an object",
};

/** A value as the message shows it: `"text"`, `12`, `true`, `null`, `a list`, `an object`. */
export function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** The value at `path` inside `root`, or undefined. */
function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    if (!Object.hasOwn(v, key as PropertyKey)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key as PropertyKey];
  }
  return v;
}

/** Formats a zod path as `listeners[0].upstreams[1]`; odd keys as `set["X Y"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => {
    if (typeof p === "number") return `[${p}]`;
    const key = String(p);
    return /^[A-Za-z0-9_$-]+$/.test(key) ? `${i ? "." : ""}${key}` : `[${JSON.stringify(key)}]`;
  }).join("");
}

/** The known keys of the object at `path` (whose value is `obj`), and what kind of object it is. */
function objectKind(path: Path, obj: unknown, root?: unknown): { kind: keyof typeof KEYS; keys: readonly string[] } | undefined {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  let kind: keyof typeof KEYS | undefined;
  if (path.length === 0) kind = "root";
  else if (path.length === 1 && last === "admin") kind = "admin";
  else if (path.length === 1 && last === "dns") kind = "dns";
  else if (path.length === 1 && last === "log") kind = "log";
  else if (path.length === 2 && parent === "listeners") {
    const mode = (obj as { mode?: unknown } | undefined)?.mode;
    kind = mode === "http" ? "http" : mode === "tls" ? "tls" : "tcp";
  } else if (typeof last === "number" && parent === "routes") {
    kind = (valueAt(root, path.slice(0, -2)) as { mode?: unknown } | undefined)?.mode === "tls" ? "tlsRoute" : "route";
  }
  else if (typeof last === "number" && parent === "upstreams") kind = "upstream";
  else if (last === "static") kind = "static";
  else if (last === "requestHeaders" || last === "responseHeaders") kind = "headers";
  else if (last === "healthCheck") kind = "healthCheck";
  else if (last === "requestId") kind = "requestId";
  else if (last === "http" && parent === "healthCheck") kind = "healthHttp";
  return kind && { kind, keys: KEYS[kind] };
}

const HTTP_ONLY = new Set(KEYS.http.filter((k) => !KEYS.tcp.includes(k)));

/** The message for one unknown key, and the key it makes missing (to report once, not twice). */
function unknownKey(path: Path, obj: unknown, key: string, root?: unknown): { message: string; covers?: string } {
  const found = objectKind(path, obj, root);
  if (found?.kind === "tcp" && HTTP_ONLY.has(key)) {
    return { message: `unknown key "${key}" for a tcp listener: add "mode": "http" for an HTTP listener`, covers: "upstreams" };
  }
  if (found?.kind === "http" && key === "upstreams") {
    return { message: `unknown key "upstreams" for an http listener: its upstreams go in routes, as "routes": [{ "upstreams": [...] }]`, covers: "routes" };
  }
  const near = found && suggest(key, found.keys);
  const shown = JSON.stringify(key);
  return near ? { message: `unknown key ${shown}; did you mean "${near}"?`, covers: near } : { message: `unknown key ${shown}` };
}

/** Messages for a union's failure: the branch that got furthest, or what the field takes. */
function unionIssues(issue: Issue & { errors: Issue[][] }, path: Path, input: unknown): ConfigIssue[] {
  const deeper = issue.errors.find((branch) => branch.some((i) => i.code !== "invalid_type" || i.path.length > 0));
  if (deeper) return deeper.flatMap((i) => translate({ ...i, path: [...path, ...i.path] } as Issue, input));
  return [{ path: formatPath(path), message: typeMessage(path, undefined, issue.input, valueAt(input, path)) }];
}

function typeMessage(path: Path, expected: string | undefined, got: unknown, at: unknown): string {
  const field = fieldAt(path, expected);
  const value = got === undefined ? at : got;
  if (value === undefined) return `missing: expected ${field.missing ?? field.what}`;
  if (expected === "int" && typeof value === "number") return `expected a whole number, got ${show(value)}`;
  return `expected ${field.what}, got ${show(value)}`;
}

function bound(issue: Issue & { origin?: string; inclusive?: boolean }, limit: unknown, least: boolean): string {
  const got = issue.input;
  const n = Number(limit);
  switch (issue.origin) {
    case "string":
      if (least && n === 1) return "must not be empty";
      return `must be ${least ? "at least" : "at most"} ${n} characters long`;
    case "array":
    case "set":
      if (least && n === 1) return "must not be empty";
      return `must have ${least ? "at least" : "at most"} ${n} entries`;
    default: {
      const word = least ? (issue.inclusive === false ? "more than" : "at least") : (issue.inclusive === false ? "less than" : "at most");
      return `must be ${word} ${n}${got === undefined ? "" : `, got ${show(got)}`}`;
    }
  }
}

/** One zod issue as spliced's issues (unknown keys give one each). */
function translate(issue: Issue, input: unknown): ConfigIssue[] {
  const path = issue.path as Path;
  const at = formatPath(path);
  if (issue.message !== DEFAULT_MESSAGE && issue.code !== "unrecognized_keys" && issue.code !== "invalid_key") {
    return [{ path: at, message: issue.message }];
  }
  switch (issue.code) {
    case "invalid_type":
      return [{ path: at, message: typeMessage(path, issue.expected, issue.input, valueAt(input, path)) }];
    case "unrecognized_keys":
      return [];
    case "invalid_value":
      return [{ path: at, message: `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${show(issue.input ?? valueAt(input, path))}` }];
    case "invalid_union": {
      const u = issue as Issue & { errors: Issue[][]; discriminator?: string; options?: unknown[] };
      if (u.discriminator !== undefined) {
        const shown = (u.options ?? []).map((o) => JSON.stringify(o));
        const options = shown.length > 2 ? `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}` : shown.join(" or ");
        return [{ path: at, message: `expected ${options}, got ${show(valueAt(input, path))}` }];
      }
      return unionIssues(u, path, input);
    }
    case "invalid_key": {
      const inner = (issue as Issue & { issues?: Issue[] }).issues ?? [];
      const own = inner.find((i) => i.message !== DEFAULT_MESSAGE);
      return [{ path: at, message: own?.message ?? "not a valid key" }];
    }
    case "invalid_element":
      return [{ path: at, message: "not a valid entry" }];
    case "too_small":
      return [{ path: at, message: bound(issue, issue.minimum, true) }];
    case "too_big":
      return [{ path: at, message: bound(issue, issue.maximum, false) }];
    case "not_multiple_of":
      return [{ path: at, message: `must be a multiple of ${String(issue.divisor)}` }];
    case "invalid_format":
      return [{ path: at, message: `expected ${fieldAt(path, undefined).what}, got ${show(issue.input ?? valueAt(input, path))}` }];
    default:
      return [{ path: at, message: `expected ${fieldAt(path, undefined).what}` }];
  }
}

/**
 * zod's issues as spliced's: one message per mistake, unknown keys naming
 * the key they probably meant (and then not also reporting that key missing).
 */
export function configIssues(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigIssue[] {
  const unknown = new Map<Issue, ConfigIssue[]>();
  const covered = new Set<string>();
  for (const issue of issues as readonly Issue[]) {
    if (issue.code !== "unrecognized_keys") continue;
    const path = issue.path as Path;
    const obj = valueAt(input, path) ?? issue.input;
    unknown.set(issue, issue.keys.map((key) => {
      const { message, covers } = unknownKey(path, obj, key, input);
      if (covers !== undefined) covered.add(formatPath([...path, covers]));
      return { path: formatPath(path), message };
    }));
  }
  const all = (issues as readonly Issue[]).flatMap((i) => unknown.get(i) ?? translate(i, input))
    .filter((i) => !(covered.has(i.path) && i.message.startsWith("missing:")));
  const seen = new Set<string>();
  return all.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
