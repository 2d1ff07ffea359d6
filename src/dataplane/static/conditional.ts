/**
 * The HTTP side of static files, as pure functions: validators (ETag,
 * Last-Modified), conditional requests (304) and single byte ranges
 * (206/416), as RFC 9110 §13-14 describe them.
 *
 * @module
 */

/** What is known of a file to serve. */
export interface FileFacts {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** A strong validator from inode, size and modification time. */
export function etagOf(f: FileFacts): string {
  return `"${f.ino.toString(16)}-${f.size.toString(16)}-${Math.floor(f.mtimeMs).toString(16)}"`;
}

/** Last-Modified as an IMF-fixdate. */
export function lastModifiedOf(f: FileFacts): string {
  return new Date(Math.floor(f.mtimeMs / 1000) * 1000).toUTCString();
}

/** Whether conditional headers make the answer 304 Not Modified. */
export function notModified(headers: ReadonlyMap<string, string>, f: FileFacts): boolean {
  const inm = headers.get("if-none-match");
  if (inm !== undefined) {
    const tag = etagOf(f);
    return inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === tag);
  }
  const ims = headers.get("if-modified-since");
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(f.mtimeMs / 1000) * 1000 <= since;
}

/** A byte range to send: [start, end] inclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** The Range outcome: whole file, one range, or unsatisfiable (416). */
export type RangeResult = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

/**
 * Interprets `Range` (and `If-Range`) for a file of `size` bytes. Only single
 * `bytes=` ranges are honoured; anything else serves the whole file, which
 * RFC 9110 §14.2 allows.
 */
export function rangeOf(headers: ReadonlyMap<string, string>, f: FileFacts): RangeResult {
  const value = headers.get("range");
  if (value === undefined) return { kind: "full" };
  const ifRange = headers.get("if-range");
  if (ifRange !== undefined && ifRange.trim() !== etagOf(f) && ifRange.trim() !== lastModifiedOf(f)) return { kind: "full" };
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "full" };
  const size = f.size;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== "" && Number(m[2]) < start)) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end } };
}
