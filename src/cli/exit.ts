/**
 * Exit codes, and the one line each kind of error prints: 0 ok, 1 runtime
 * failure (a busy port, a host name that does not resolve), 2 bad usage or
 * config. Only an error nobody expected shows a stack trace.
 *
 * @module
 */
import { FfiUnavailableError } from "../../ffi/sys.ts";
import { ServeError } from "../admin/serve.ts";
import { ConfigError, ResolveError, SysError, UnresolvedError, UsageError } from "../errors.ts";

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a runtime failure: a busy port, a host name that does not resolve. */
export const EXIT_FAILURE = 1;
/** Exit code for bad usage or a bad config. */
export const EXIT_USAGE = 2;

/** `spliced --help`, or `spliced COMMAND --help`, as a usage error points to it. */
function helpFor(err: UsageError): string {
  return err.command === undefined || err.command === "" ? "spliced --help" : `spliced ${err.command} --help`;
}

/** Whether `err` is a runtime failure with a message meant for the person running spliced. */
function isRuntimeFailure(err: unknown): err is Error {
  return err instanceof SysError || err instanceof ServeError || err instanceof FfiUnavailableError || err instanceof ResolveError;
}

/** Prints `err` on stderr, in one line where spliced made it, and returns the exit code for it. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`spliced: ${err.message} (see ${helpFor(err)})`);
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    return err instanceof UnresolvedError ? EXIT_FAILURE : EXIT_USAGE;
  }
  if (isRuntimeFailure(err)) {
    console.error(`spliced: ${err.message}`);
    return EXIT_FAILURE;
  }
  console.error(`spliced: internal error: ${err instanceof Error ? err.stack : err}`);
  return EXIT_FAILURE;
}
