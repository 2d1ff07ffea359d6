/**
 * Admin API errors. Every error answers `{ "error": { "code", "message", ... } }`
 * with the status that fits; handlers throw {@link AdminError} and the app's
 * error handler turns it into that response.
 *
 * @module
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** An error meant for the admin API client. */
export class AdminError extends Error {
  override name = "AdminError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    /** Extra members of the `error` object, e.g. `field` or `issues`. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The JSON body of an error response. */
export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}): {
  error: Record<string, unknown>;
} {
  return { error: { code, message, ...extra } };
}

/** A 400 for one bad field of a request (query parameter or JSON member). */
export function badField(field: string, message: string): AdminError {
  return new AdminError(400, "invalid_value", `${field}: ${message}`, { field });
}
