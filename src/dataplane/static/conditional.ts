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

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MON} (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MON}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MON} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds of a calendar date and time in UTC, or undefined when a field is out of range. */
function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | undefined {
  const mon = MONTHS.indexOf(month);
  const ms = Date.UTC(year, mon, day, h, m, s);
  const d = new Date(ms);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== mon || h > 23 || m > 59 || s > 60) return undefined;
  return ms;
}

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, or the obsolete RFC 850
 * and asctime forms; undefined for anything else (`Date.parse` is far too
 * lenient: it takes "1", "2024" or "next week"-like strings). A two-digit
 * RFC 850 year more than 50 years ahead of `nowMs` is taken as the past one.
 */
export function parseHttpDate(value: string, nowMs: number = Date.now()): number | undefined {
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1], Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  m = RFC850.exec(text);
  if (!m) return undefined;
  const nowYear = new Date(nowMs).getUTCFullYear();
  let year = nowYear - (nowYear % 100) + Number(m[3]);
  if (year > nowYear + 50) year -= 100;
  return utc(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * Whether conditional headers make the answer 304 Not Modified.
 * If-None-Match wins over If-Modified-Since; an If-Modified-Since that is not
 * an HTTP-date, or that is later than `nowMs`, is ignored (RFC 9110 §13.1.3).
 */
export function notModified(headers: ReadonlyMap<string, string>, f: FileFacts, nowMs: number = Date.now()): boolean {
  const inm = headers.get("if-none-match");
  if (inm !== undefined) {
    const tag = etagOf(f);
    return inm.trim() === "*" || inm.split(",").some((t) => t.trim().replace(/^W\//, "") === tag);
  }
  const ims = headers.get("if-modified-since");
  if (ims === undefined) return false;
  const since = parseHttpDate(ims, nowMs);
  if (since === undefined || since > nowMs) return false;
  return Math.floor(f.mtimeMs / 1000) * 1000 <= since;
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
 * RFC 9110 §14.2 allows. A range whose last byte is before its first
 * (`bytes=5-1`) is not a valid range-spec (§14.1.1), so it is ignored too.
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
  if (m[2] !== "" && Number(m[2]) < start) return { kind: "full" };
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end } };
}
