/**
 * The config: its schema (validated with zod, `config/schema.ts`), defaults,
 * and loading from a JSON file. Every error names the source, the field path
 * and what is wrong, in spliced's own words (`config/messages.ts`); checks
 * that need the file system or DNS are in `config/preflight.ts`.
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
import { ConfigError } from "./errors.ts";
import { parseJson } from "./config/json.ts";
import { configIssues, DEFAULT_MESSAGE } from "./config/messages.ts";
import { ConfigSchema, type ListenerConfig, type ValidConfig } from "./config/schema.ts";

export {
  AdminSchema, ConfigSchema, HeaderOpsSchema, HttpListenerSchema, ListenerSchema, RouteSchema, StaticSchema, TcpListenerSchema,
  TlsListenerSchema, TlsRouteSchema,
  type Config, type ConfigInput, type HttpListenerConfig, type ListenerConfig, type RouteConfig, type TcpListenerConfig,
  type TlsListenerConfig, type TlsRouteConfig, type ValidConfig,
} from "./config/schema.ts";
export { formatPath } from "./config/messages.ts";
export { parseJson } from "./config/json.ts";
export { assertPreflight, preflightConfig, type PreflightOptions, type PreflightReport } from "./config/preflight.ts";

/** Validates a config object; throws ConfigError naming `source` (and nothing else, whatever `input` is). */
export function validateConfig(input: unknown, source: string): ValidConfig {
  let result;
  try {
    result = ConfigSchema.safeParse(input, { error: () => DEFAULT_MESSAGE, reportInput: true });
  } catch (err) {
    // A value no JSON file holds (a getter that throws, a cycle): still a config error.
    throw new ConfigError(source, [{ path: "", message: `cannot read the config: ${(err as Error)?.message ?? err}` }]);
  }
  if (!result.success) throw new ConfigError(source, configIssues(result.error.issues, input));
  const cfg = result.data;
  const listeners = cfg.listeners.map((l, i): ListenerConfig => {
    const named = l.name ?? `listener${i}`;
    if (l.mode === "tcp") return { ...l, name: named };
    if (l.mode === "tls") return { ...l, name: named, routes: l.routes.map((r, j) => ({ ...r, name: r.name ?? `route${j}` })) };
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
    const why = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : String(code ?? err);
    throw new ConfigError(source, [{ path: field, message: `${what}: ${why}` }]);
  }
}

/** Parses and validates the text of a JSON config file; throws ConfigError naming `source`. */
export function parseConfigText(text: string, source: string): ValidConfig {
  const json = parseJson(text);
  if (!json.ok) throw new ConfigError(source, [{ path: "", message: `invalid JSON: ${json.message}` }]);
  return validateConfig(json.value, source);
}

/** Reads and validates a JSON config file; throws ConfigError naming the file. */
export function loadConfigFile(path: string): ValidConfig {
  return parseConfigText(readConfiguredFile(path, path, "", "cannot read"), path);
}
