/**
 * Durations and sizes as people write them in configs: `250ms`, `5s`, `10m`,
 * `1h`; `64k`, `1m` (binary units). A bare number is milliseconds / bytes.
 *
 * @module
 */

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses a duration into milliseconds; SyntaxError names the input. */
export function parseDuration(input: string | number): number {
  if (typeof input === "number") return checkFinite(input, String(input));
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(input.trim());
  if (!m) throw new SyntaxError(`not a duration: ${JSON.stringify(input)} (use e.g. 500ms, 5s, 10m, 1h)`);
  return Math.round(Number(m[1]) * TIME_UNITS[m[2] ?? "ms"]);
}

/** Parses a size into bytes; SyntaxError names the input. */
export function parseSize(input: string | number): number {
  if (typeof input === "number") return checkFinite(input, String(input));
  const m = /^(\d+)([kmg]?)(?:i?b)?$/i.exec(input.trim());
  if (!m) throw new SyntaxError(`not a size: ${JSON.stringify(input)} (use e.g. 65536, 64k, 1m)`);
  return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
}

function checkFinite(n: number, text: string): number {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`must be a non-negative number: ${text}`);
  return n;
}
