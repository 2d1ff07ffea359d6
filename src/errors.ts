/**
 * Errors by kind. Each carries a message meant for the person running spliced.
 *
 * @module
 */
import { ERRNO_NAMES, errnoText } from "../ffi/constants.ts";

/** A system call failed; `errno` is the positive errno value. */
export class SysError extends Error {
  override name = "SysError";
  /** The positive errno value. */
  readonly errno: number;
  /** Short errno name, e.g. `EADDRINUSE`. */
  readonly code: string;
  constructor(op: string, errno: number) {
    super(`${op}: ${errnoText(errno)}`);
    this.errno = errno;
    this.code = ERRNO_NAMES[errno] ?? `E${errno}`;
  }
}

/** One problem found in a config: where, and what is wrong. */
export interface ConfigIssue {
  /** Field path, e.g. `listeners[0].upstreams[1]`. */
  readonly path: string;
  readonly message: string;
}

/** A config file (or CLI flags) failed validation. Exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly source: string;
  readonly issues: readonly ConfigIssue[];
  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `${source}: ${i.path || "(root)"}: ${i.message}`).join("\n"));
    this.source = source;
    this.issues = issues;
  }
}

/**
 * Upstream host names of a config that do not resolve now. `spliced check`
 * reports them as warnings (they may resolve later); at start they are an
 * error, exit code 1 (a runtime condition, like a busy port).
 */
export class UnresolvedError extends ConfigError {
  override name = "UnresolvedError";
}

/** A host name did not resolve: `cannot resolve "HOST": REASON`, the same words on every runtime. */
export class ResolveError extends Error {
  override name = "ResolveError";
  readonly host: string;
  /** Why, e.g. `no such host`. */
  readonly reason: string;
  constructor(host: string, reason: string) {
    super(`cannot resolve ${JSON.stringify(host)}: ${reason}`);
    this.host = host;
    this.reason = reason;
  }
}

/** Wrong command-line usage. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The command whose `--help` the message points to ("" for `spliced --help`). */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** Throws a SysError when a Sys result is negative; returns it otherwise. */
export function check(op: string, result: number): number {
  if (result < 0) throw new SysError(op, -result);
  return result;
}
