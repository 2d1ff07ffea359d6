/**
 * spliced as a library, for Deno and Bun programs.
 *
 * ```ts
 * import { startProxy } from "spliced";
 *
 * const proxy = await startProxy({
 *   workers: 2,
 *   listeners: [{ name: "db", listen: "127.0.0.1:6432", upstreams: ["127.0.0.1:5432"] }],
 * });
 * console.log(proxy.address("db"));          // { host: "127.0.0.1", port: 6432 }
 * console.log(proxy.stats().totals.bytes_spliced);
 * await proxy.close();                        // graceful: open connections finish first
 * ```
 *
 * Under Deno, run with `--allow-ffi --allow-net --allow-read --allow-env --allow-sys`.
 *
 * @module
 */
export { startProxy, type Proxy, type StartOptions, type UpstreamState, type ValidConfig } from "./proxy.ts";
export { UpstreamChangeError, type UpstreamRequest } from "./discovery/live.ts";
export { loadConfigFile, validateConfig, type Config, type ConfigInput, type ListenerConfig } from "./config.ts";
export { adminApp, type AdminOptions } from "./admin/app.ts";
export type { Counters, StatsSnapshot } from "./stats/aggregate.ts";
export type { HistoryDocument, HistoryWindow, ScopeHistory } from "./stats/history.ts";
export type { LogFormat, LogLevel, LogOptions, LogSink, LogStream } from "./log/logger.ts";
export { ConfigError, ResolveError, SysError, UnresolvedError, UsageError, type ConfigIssue } from "./errors.ts";
export { FfiUnavailableError } from "../ffi/sys.ts";
export { VERSION } from "./version.ts";
