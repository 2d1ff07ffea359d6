/**
 * Preflight: the checks of a validated config that need the file system or
 * DNS, run by `spliced check` and before every start (after the schema,
 * before anything binds):
 *
 * - upstream host names resolve (now: `check` warns when one does not, as it
 *   may resolve later; a start fails naming it);
 * - the admin address resolves and overlaps no listener;
 * - a static root is an existing directory spliced can read;
 * - an access log's directory exists and is writable (and the file, if it
 *   exists, is a writable file);
 * - an admin token file is readable;
 * - header edits naming headers spliced manages itself are warned about
 *   (the data plane ignores them).
 *
 * Every message is spliced's own, the same on both runtimes.
 *
 * @module
 */
import { accessSync, constants, statSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, resolve } from "node:path";
import { addressResolver } from "../discovery/resolver.ts";
import { addressesOverlap, checkListenAddress, DNS_TIMEOUT_MS, formatHostPort, parseHostPort, resolveHost } from "../address.ts";
import { ConfigError, ResolveError, UnresolvedError, type ConfigIssue } from "../errors.ts";
import { RESERVED_HEADERS } from "../http/rewrite.ts";
import { formatPath } from "./messages.ts";
import { type UpstreamEntry, upstreamEntryOf, type ValidConfig } from "./schema.ts";

/** What {@link preflightConfig} found. */
export interface PreflightReport {
  /** Problems that stop a start (and fail `check`). */
  readonly errors: ConfigIssue[];
  /** Upstream host names that do not resolve now: a warning for `check`, an error at start. */
  readonly unresolved: ConfigIssue[];
  /** Worth saying, stops nothing. */
  readonly warnings: ConfigIssue[];
}

/** Options of {@link preflightConfig}. */
export interface PreflightOptions {
  /** Longest wait for one DNS answer (default 5 s). */
  readonly dnsTimeoutMs?: number;
  /** Resolves a host name to an IP literal (default: the system resolver); throws ResolveError. */
  readonly resolve?: (host: string, timeoutMs: number) => Promise<string>;
}

/** Runs every preflight check of `config`; never throws for a problem of the config. */
export async function preflightConfig(config: ValidConfig, options: PreflightOptions = {}): Promise<PreflightReport> {
  const report: PreflightReport = { errors: [], unresolved: [], warnings: [] };
  const lookup = cachedResolver(options, config.dns?.servers);
  const pending: Promise<void>[] = [];
  const upstream = (entry: UpstreamEntry, path: string) => {
    pending.push(lookup(parseHostPort(upstreamEntryOf(entry).address).host).then(
      () => {},
      (err) => void report.unresolved.push({ path, message: resolveMessage(err) }),
    ));
  };
  const logFile = config.log?.file === undefined ? undefined : accessLogProblem(config.log.file);
  if (logFile) report.errors.push({ path: "log.file", message: logFile });
  config.listeners.forEach((l, i) => {
    const at = `listeners[${i}]`;
    const log = accessLogProblem(l.accessLog);
    if (log) report.errors.push({ path: `${at}.accessLog`, message: log });
    if (l.mode === "tcp") {
      l.upstreams.forEach((u, k) => upstream(u, `${at}.upstreams[${k}]`));
      return;
    }
    if (l.mode === "tls") {
      l.routes.forEach((r, j) => r.upstreams.forEach((u, k) => upstream(u, `${at}.routes[${j}].upstreams[${k}]`)));
      return;
    }
    l.routes.forEach((r, j) => {
      const rat = `${at}.routes[${j}]`;
      r.upstreams?.forEach((u, k) => upstream(u, `${rat}.upstreams[${k}]`));
      if (r.static) {
        const root = directoryProblem(r.static.root);
        if (root) report.errors.push({ path: `${rat}.static.root`, message: root });
      }
      for (const side of ["requestHeaders", "responseHeaders"] as const) {
        const ops = r[side];
        if (!ops) continue;
        for (const name of Object.keys(ops.set)) {
          if (RESERVED_HEADERS.has(name.toLowerCase())) {
            report.warnings.push({ path: formatPath(["listeners", i, "routes", j, side, "set", name]), message: `spliced writes ${name} itself: this setting is ignored` });
          }
        }
        ops.remove.forEach((name, k) => {
          const lower = name.toLowerCase();
          if (RESERVED_HEADERS.has(lower) || lower === "host") {
            report.warnings.push({ path: `${rat}.${side}.remove[${k}]`, message: `spliced writes ${name} itself: removing it is ignored` });
          }
        });
      }
    });
  });
  if (config.admin) {
    const admin = config.admin;
    if (admin.tokenFile) {
      const problem = readableFileProblem(admin.tokenFile);
      if (problem) report.errors.push({ path: "admin.tokenFile", message: `cannot read token file ${q(admin.tokenFile)}: ${problem}` });
    }
    const { host, port } = parseHostPort(admin.listen);
    pending.push(lookup(host).then(
      (ip) => {
        const clash = config.listeners.findIndex((l) => addressesOverlap(checkListenAddress(l.listen), { host: ip, port }));
        if (clash >= 0) {
          const resolved = formatHostPort({ host: ip, port });
          const shown = resolved === admin.listen ? resolved : `${admin.listen} (${resolved})`;
          const other = config.listeners[clash].listen;
          report.errors.push({
            path: "admin.listen",
            message: other === resolved
              ? `${shown} is also listeners[${clash}].listen: the admin server needs an address of its own`
              : `${shown} overlaps listeners[${clash}].listen (${other}): the admin server needs an address of its own`,
          });
        }
      },
      (err) => void report.errors.push({ path: "admin.listen", message: resolveMessage(err) }),
    ));
  }
  await Promise.all(pending);
  const order = (list: ConfigIssue[]) => list.sort((a, b) => comparePaths(a.path, b.path));
  order(report.errors);
  order(report.unresolved);
  order(report.warnings);
  return report;
}

/**
 * Preflight for a start: throws ConfigError for errors, then UnresolvedError
 * for upstream names that do not resolve; returns the warnings.
 */
export async function assertPreflight(config: ValidConfig, source: string, options: PreflightOptions = {}): Promise<ConfigIssue[]> {
  const report = await preflightConfig(config, options);
  if (report.errors.length) throw new ConfigError(source, report.errors);
  if (report.unresolved.length) throw new UnresolvedError(source, report.unresolved);
  return report.warnings;
}

function resolveMessage(err: unknown): string {
  return err instanceof ResolveError ? err.message : `cannot resolve: ${(err as Error)?.message ?? err}`;
}

/** `dnsServers` (the config's `dns.servers`): ask those, as the proxy will, unless `options.resolve` is given. */
function cachedResolver(options: PreflightOptions, dnsServers?: readonly string[]): (host: string) => Promise<string> {
  const viaServers = dnsServers && ((host: string, t: number) => addressResolver(dnsServers, t)(host).then((all) => all[0]));
  const resolveOne = options.resolve ?? viaServers ?? resolveHost;
  const timeout = options.dnsTimeoutMs ?? DNS_TIMEOUT_MS;
  const cache = new Map<string, Promise<string>>();
  return (host) => {
    if (isIP(host)) return Promise.resolve(host);
    let p = cache.get(host);
    if (!p) cache.set(host, p = resolveOne(host, timeout));
    return p;
  };
}

/** Sorts `listeners[2]...` after `listeners[10]...` correctly, `admin` before `listeners`. */
function comparePaths(a: string, b: string): number {
  const key = (p: string) => p.replace(/\d+/g, (d) => d.padStart(8, "0"));
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** A path in a message: quoted, and one line whatever it holds. */
function q(path: string): string {
  return JSON.stringify(path);
}

function code(err: unknown): string {
  return String((err as { code?: unknown }).code ?? "");
}

/** Words for a file-system error code. */
function why(err: unknown): string {
  switch (code(err)) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "ELOOP":
      return "too many symbolic links";
    case "ENAMETOOLONG":
      return "the path is too long";
    default:
      return code(err) || String(err);
  }
}

type Stat = { isDirectory(): boolean; isFile(): boolean };

function stat(path: string): Stat | { error: unknown } {
  try {
    return statSync(path);
  } catch (error) {
    return { error };
  }
}

function allowed(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** Why `path` is not a directory spliced can serve files from, or undefined. */
export function directoryProblem(path: string): string | undefined {
  const s = stat(path);
  if ("error" in s) return `directory ${q(path)} ${why(s.error)}`;
  if (!s.isDirectory()) return `${q(path)} is not a directory`;
  if (!allowed(path, constants.R_OK | constants.X_OK)) return `directory ${q(path)} is not readable`;
  return undefined;
}

/** Why spliced could not append to the access log `target`, or undefined (`off` and `-` are fine). */
export function accessLogProblem(target: string): string | undefined {
  if (target === "off" || target === "-") return undefined;
  const s = stat(target);
  if (!("error" in s)) {
    if (s.isDirectory()) return `${q(target)} is a directory`;
    if (!allowed(target, constants.W_OK)) return `${q(target)} is not writable`;
    return undefined;
  }
  if (code(s.error) !== "ENOENT" && code(s.error) !== "ENOTDIR") return `${q(target)}: ${why(s.error)}`;
  const dir = dirname(resolve(target));
  const d = stat(dir);
  if ("error" in d) return `directory ${q(dir)} ${why(d.error)}`;
  if (!d.isDirectory()) return `${q(dir)} is not a directory`;
  if (!allowed(dir, constants.W_OK | constants.X_OK)) return `directory ${q(dir)} is not writable`;
  return undefined;
}

/** Why `path` is not a readable file, or undefined. */
export function readableFileProblem(path: string): string | undefined {
  const s = stat(path);
  if ("error" in s) return code(s.error) === "ENOENT" ? "file not found" : why(s.error);
  if (s.isDirectory()) return "it is a directory";
  if (!allowed(path, constants.R_OK)) return "permission denied";
  return undefined;
}
