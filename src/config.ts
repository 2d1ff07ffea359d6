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
 *       "connectTimeout": "5s", "idleTimeout": "10m", "maxConnections": 10000 }
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

/** Schema of one TCP listener. */
export const ListenerSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "use 1-64 letters, digits, _ . -").optional(),
  mode: z.literal("tcp").default("tcp"),
  listen: hostPort,
  upstreams: z.array(hostPort).min(1, "needs at least one upstream"),
  connectTimeout: duration(1, DAY).default(5000),
  idleTimeout: duration(1, 30 * DAY).default(600_000),
  maxConnections: z.number().int().min(1).max(10_000_000).default(100_000),
  backlog: z.number().int().min(1).max(65535).default(4096),
});

/** Schema of the admin server. */
export const AdminSchema = z.strictObject({
  listen: hostPort,
  /** Bearer token for the admin API (prefer tokenFile or SPLICED_ADMIN_TOKEN). */
  token: z.string().min(16, "use at least 16 characters").optional(),
  /** File holding the bearer token (first line). */
  tokenFile: z.string().min(1).optional(),
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
/** One validated listener. */
export type ListenerConfig = Config["listeners"][number] & { name: string };
/** A validated config whose listeners all have names. */
export type ValidConfig = Omit<Config, "listeners"> & { listeners: ListenerConfig[] };

function uniqueNames(cfg: { listeners: { name?: string }[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  cfg.listeners.forEach((l, i) => {
    const name = l.name ?? `listener${i}`;
    if (seen.has(name)) ctx.addIssue({ code: "custom", path: ["listeners", i, "name"], message: `duplicate name "${name}"` });
    seen.add(name);
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
  const listeners = cfg.listeners.map((l, i) => ({ ...l, name: l.name ?? `listener${i}` }));
  return { ...cfg, listeners };
}

/** Reads and validates a JSON config file; throws ConfigError naming the file. */
export function loadConfigFile(path: string): ValidConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : String(code ?? err);
    throw new ConfigError(path, [{ path: "", message: `cannot read: ${why}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [{ path: "", message: `invalid JSON: ${(err as Error).message}` }]);
  }
  return validateConfig(json, path);
}
