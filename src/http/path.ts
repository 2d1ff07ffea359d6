/**
 * The request target as the proxy routes and forwards it.
 *
 * {@linkcode originFormOf} turns an absolute-form target
 * (`http://host/path?q`, RFC 9112 §3.2.2) into origin-form (`/path?q`): a
 * reverse proxy routes by that path and sends origin-form upstream.
 *
 * {@linkcode normalizePath} gives the one path that is both routed and
 * forwarded (like nginx when it rewrites, unlike HAProxy, which forwards as
 * sent), so an upstream can never read a request as being somewhere other
 * than where it was routed. The rules, on the path only (the query is kept
 * byte for byte):
 *
 * - Dot-segments are resolved as in RFC 3986 §5.2.4 (`remove_dot_segments`):
 *   `/a/./b` → `/a/b`, `/api/../internal` → `/internal`, `/a/b/..` → `/a/`;
 *   a `..` above the root is dropped (`/../x` → `/x`).
 * - Percent-encoded unreserved characters (`ALPHA DIGIT - . _ ~`) are decoded
 *   and other escapes get uppercase hex (RFC 3986 §6.2.2.1-2): `/%61pi` is
 *   `/api`, `%2f` becomes `%2F`.
 * - Rejected (null, answer 400):
 *   - a `%` not followed by two hex digits;
 *   - an encoded dot-segment: a segment that is `.` or `..` once `%2E` is
 *     decoded but was not written as plain dots (`%2e`, `.%2E`, `%2e.`,
 *     `%2E%2E`);
 *   - a dot-segment hidden inside a segment, which some servers would
 *     resolve: `..` or `.` between encoded slashes or backslashes (`%2F`,
 *     `%5C`) or a literal backslash (`..%2Fx`, `a%5C..`, `..\x`), or before
 *     a `;` path parameter (`..;x`, which Tomcat reads as `..`).
 * - Kept as sent: empty segments (`//`, RFC 3986 keeps them), an encoded
 *   slash inside a segment (`a%2Fb`: data, not a separator, RFC 3986 §2.2),
 *   escapes of other bytes (`%00`, `%FF`, `%252e`).
 *
 * @module
 */

const ABSOLUTE_PREFIX = /^https?:\/\/[^/?]*/i;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/** Separators some servers see inside a segment: encoded slash or backslash, literal backslash. */
const HIDDEN_SEPARATOR = /%2f|%5c|\\/i;
const ENCODED_DOT = /%2e/gi;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The origin-form of `target`: an absolute-form target (`http://host:8080/p?q`)
 * loses its scheme and authority (`/p?q`; `/` or `/?q` when it has no path);
 * any other target (origin-form, `*`, authority-form) is returned as is.
 */
export function originFormOf(target: string): string {
  const m = ABSOLUTE_PREFIX.exec(target);
  if (m === null) return target;
  const rest = target.slice(m[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/**
 * The normalised origin-form of `target` (origin- or absolute-form) by the
 * rules in the module doc, query untouched; null when it must be refused
 * (400). A target without a path (`*`, authority-form) is returned as is.
 */
export function normalizePath(target: string): string | null {
  const t = originFormOf(target);
  if (!t.startsWith("/")) return t;
  const q = t.indexOf("?");
  const path = q < 0 ? t : t.slice(0, q);
  const segments = removeDotSegments(path.slice(1).split("/"));
  return segments === null ? null : `/${segments.join("/")}${q < 0 ? "" : t.slice(q)}`;
}

/** RFC 3986 §5.2.4 over the segments after the leading `/`; null when a segment is refused. */
function removeDotSegments(segments: readonly string[]): string[] | null {
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = normalizeSegment(segments[i]);
    if (seg === null) return null;
    const last = i === segments.length - 1;
    if (seg === "." || seg === "..") {
      if (seg === "..") out.pop();
      if (last) out.push("");
    } else out.push(seg);
  }
  return out;
}

/** One segment with its escapes normalised; `.`/`..` only when written as plain dots; null when refused. */
function normalizeSegment(raw: string): string | null {
  if (raw === "." || raw === "..") return raw;
  if (BAD_ESCAPE.test(raw) || hidesDotSegment(raw)) return null;
  return raw.includes("%") ? raw.replace(ESCAPE, normalizeEscape) : raw;
}

/** True when a piece of `raw` (between hidden separators, before a `;`) is `.` or `..` once `%2E` is decoded. */
function hidesDotSegment(raw: string): boolean {
  for (const piece of raw.split(HIDDEN_SEPARATOR)) {
    const name = piece.split(";", 1)[0].replace(ENCODED_DOT, ".");
    if (name === "." || name === "..") return true;
  }
  return false;
}

function normalizeEscape(escape: string, hex: string): string {
  const c = String.fromCharCode(parseInt(hex, 16));
  return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
}
