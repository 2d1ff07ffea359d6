/**
 * When checks run: the first one after a random share of the interval, so
 * the checks of many upstreams (and of several spliced processes) do not all
 * start together; then every interval, give or take a tenth.
 *
 * @module
 */

/** Delay (ms) before an upstream's first check: uniform in [0, interval). `random` returns [0, 1). */
export function firstDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * intervalMs);
}

/** Delay (ms) between two checks: interval ± 10%. */
export function nextDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(intervalMs * (0.9 + 0.2 * random())));
}
