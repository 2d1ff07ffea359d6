/**
 * The config `tcp`, `http` and `static` describe with flags: one listener and
 * the global settings, left for {@link validateConfig} to check.
 *
 * @module
 */
import type { ConfigInput } from "../config.ts";
import { UsageError } from "../errors.ts";
import { stringValue, type Values } from "./parse.ts";

/** A whole number as a number; anything else as given, for validation to name it. */
export function numberFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : (value as unknown as number);
}

/** The upstreams of `--to a,b --to c`. */
function upstreamList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

/** The one listener `tcp`, `http` or `static` describe with flags. */
function flagListener(command: string, values: Values): Record<string, unknown> {
  const listen = stringValue(values, "listen");
  if (listen === undefined) throw new UsageError(`${command} needs --listen HOST:PORT`, command);
  if (command === "static") {
    const root = stringValue(values, "root");
    if (root === undefined) throw new UsageError("static needs --root DIR", command);
    return { name: "static", mode: "http", listen, routes: [{ name: "files", static: { root } }] };
  }
  const to = stringValue(values, "to");
  if (to === undefined) throw new UsageError(`${command} needs --to HOST:PORT[,HOST:PORT...]`, command);
  if (command === "tcp") return { name: "tcp", mode: "tcp", listen, upstreams: upstreamList(to) };
  return { name: "http", mode: "http", listen, routes: [{ name: "all", upstreams: upstreamList(to) }] };
}

/** Config keys and the flags that set them: `[key, flag, convert]`. */
type Mapping = readonly [string, string, ((s: string) => unknown)?];

const LISTENER_FLAGS: readonly Mapping[] = [
  ["upstreamTimeout", "upstream-timeout"],
  ["accessLog", "access-log"],
  ["connectTimeout", "connect-timeout"],
  ["idleTimeout", "idle-timeout"],
  ["sendTimeout", "send-timeout"],
  ["maxConnections", "max-connections", numberFlag],
];

const GLOBAL_FLAGS: readonly Mapping[] = [
  ["workers", "workers", numberFlag],
  ["admin", "admin", (listen) => ({ listen })],
  ["pipeSize", "pipe-size"],
  ["gracePeriod", "grace-period"],
];

/** Sets `target[key]` for each mapped flag that was given. */
function setFrom(target: Record<string, unknown>, values: Values, mappings: readonly Mapping[]): void {
  for (const [key, flag, convert = (s: string) => s] of mappings) {
    const value = stringValue(values, flag);
    if (value !== undefined) target[key] = convert(value);
  }
}

/** `--health-check DUR`: a TCP connect check of each upstream, on the TCP listener or the HTTP route. */
function setHealthCheck(listener: Record<string, unknown>, values: Values): void {
  const interval = stringValue(values, "health-check");
  if (interval === undefined) return;
  const block = { interval, rise: 2, fall: 2 };
  const routes = listener.routes as Record<string, unknown>[] | undefined;
  if (routes) routes[0].healthCheck = block;
  else listener.healthCheck = block;
}

/** The `log` block `--log-format`, `--log-level` and `--log-file` give, or undefined when neither is given. */
export function logFlags(values: Values): Record<string, unknown> | undefined {
  const log: Record<string, unknown> = {};
  setFrom(log, values, [["format", "log-format"], ["level", "log-level"], ["file", "log-file"]]);
  return Object.keys(log).length ? log : undefined;
}

/** The config the flags of `tcp`, `http` or `static` describe (not validated yet). */
export function flagConfig(command: string, values: Values): ConfigInput {
  const listener = flagListener(command, values);
  setFrom(listener, values, LISTENER_FLAGS);
  setHealthCheck(listener, values);
  const config: Record<string, unknown> = { listeners: [listener] };
  setFrom(config, values, GLOBAL_FLAGS);
  const log = logFlags(values);
  if (log) config.log = log;
  return config as ConfigInput;
}
