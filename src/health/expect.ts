/**
 * The `expect` of an HTTP health check: the statuses that pass, as
 * `"200-399"`, `"200"` or a comma list such as `"200,204,301-302"`.
 *
 * ```ts
 * const ranges = parseExpect("200-299,302");
 * statusMatches(ranges, 204); // true
 * ```
 *
 * @module
 */

/** An inclusive range of HTTP statuses. */
export interface StatusRange {
  readonly from: number;
  readonly to: number;
}

const PART = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/;

/**
 * Parses an `expect` text. Throws SyntaxError naming the part that is not a
 * status (100-599) or a range, and RangeError for a range that runs backwards.
 */
export function parseExpect(text: string): StatusRange[] {
  const parts = text.split(",").map((p) => p.trim());
  return parts.map((part) => {
    const m = PART.exec(part);
    if (!m) throw new SyntaxError(`expected statuses like "200-399", "200" or "200,204", got ${JSON.stringify(text)}`);
    const from = Number(m[1]), to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new RangeError(`the range "${part}" ends before it starts`);
    return { from, to };
  });
}

/** Whether `status` is in one of `ranges`. */
export function statusMatches(ranges: readonly StatusRange[], status: number): boolean {
  return ranges.some((r) => status >= r.from && status <= r.to);
}
