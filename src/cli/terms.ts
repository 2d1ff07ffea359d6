/**
 * Config mistakes restated in terms of the flags that set the fields:
 * `command line: --to: ...` rather than `listeners[0].upstreams[1]: ...`.
 *
 * @module
 */
import { ConfigError, UnresolvedError, type ConfigIssue } from "../errors.ts";

/** Config field paths and the flags that set them. */
const FLAG_OF: readonly (readonly [string, string])[] = [
  ["listeners[0].routes[0].static.root", "--root"],
  ["listeners[0].routes[0].upstreams", "--to"],
  ["listeners[0].upstreams", "--to"],
  ["listeners[0].listen", "--listen"],
  ["listeners[0].connectTimeout", "--connect-timeout"],
  ["listeners[0].idleTimeout", "--idle-timeout"],
  ["listeners[0].sendTimeout", "--send-timeout"],
  ["listeners[0].maxConnections", "--max-connections"],
  ["listeners[0].upstreamTimeout", "--upstream-timeout"],
  ["listeners[0].accessLog", "--access-log"],
  ["listeners[0].healthCheck.interval", "--health-check"],
  ["listeners[0].routes[0].healthCheck.interval", "--health-check"],
  ["admin.tokenFile", "--admin-token-file"],
  ["admin.listen", "--admin"],
  ["workers", "--workers"],
  ["pipeSize", "--pipe-size"],
  ["gracePeriod", "--grace-period"],
  ["log.format", "--log-format"],
  ["log.level", "--log-level"],
  ["log.file", "--log-file"],
];

/** Each path of {@link FLAG_OF} as a pattern, an index after it included. */
const PATTERNS = FLAG_OF.map(([path, flag]) => [new RegExp(`${path.replace(/[.[\]]/g, "\\$&")}(\\[\\d+\\])?`, "g"), flag] as const);

/** Turns issues into issues: how a config's mistakes are restated. */
export type Restate = (issues: readonly ConfigIssue[]) => ConfigIssue[];

/** A field path as the flag that set it (`listeners[0].upstreams[1]` is `--to`). */
function flagOf(path: string): string {
  const bare = path.replace(/\[\d+\]$/, "");
  return FLAG_OF.find(([p]) => p === bare)?.[1] ?? path;
}

/** Issues about a flag-built config: their paths, and the paths their messages name, as flags. */
export const asFlags: Restate = (issues) =>
  issues.map((i) => ({ path: flagOf(i.path), message: PATTERNS.reduce((m, [re, flag]) => m.replace(re, flag), i.message) }));

/** Issues as they are. */
export const asIs: Restate = (issues) => [...issues];

/** A ConfigError (or UnresolvedError) with its issues restated; anything else as it is. */
export function restated(err: unknown, restate: Restate): unknown {
  if (!(err instanceof ConfigError)) return err;
  const Kind = err instanceof UnresolvedError ? UnresolvedError : ConfigError;
  return new Kind(err.source, restate(err.issues));
}

/** Runs `fn`, its config errors restated. */
export async function inTerms<T>(restate: Restate, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw restated(err, restate);
  }
}

/** Runs `fn` synchronously, its config errors restated. */
export function inTermsSync<T>(restate: Restate, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw restated(err, restate);
  }
}
