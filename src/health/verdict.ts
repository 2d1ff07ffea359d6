/**
 * The rise/fall state machine of one upstream, as a pure function: `rise`
 * passing checks in a row make it up, `fall` failing ones make it down.
 * Before its first verdict an upstream is "unchecked", which counts as usable.
 *
 * @module
 */
import { HEALTH_DOWN, HEALTH_UNCHECKED, HEALTH_UP } from "../balance/balancer.ts";

/** Health of one upstream and the checks in a row behind it. */
export interface Tally {
  /** HEALTH_UNCHECKED, HEALTH_UP or HEALTH_DOWN. */
  readonly health: number;
  readonly successes: number;
  readonly failures: number;
}

/** The tally after one check result. */
export function applyResult(t: Tally, ok: boolean, rise: number, fall: number): Tally {
  if (ok) {
    const successes = t.successes + 1;
    return { health: t.health !== HEALTH_UP && successes >= rise ? HEALTH_UP : t.health, successes, failures: 0 };
  }
  const failures = t.failures + 1;
  return { health: t.health !== HEALTH_DOWN && failures >= fall ? HEALTH_DOWN : t.health, successes: 0, failures };
}

/** Health names as shown in `/upstreams`, the log and the dashboard. */
export type HealthName = "unchecked" | "up" | "down";

/** The name of a stored health value. */
export function healthName(health: number): HealthName {
  return health === HEALTH_UP ? "up" : health === HEALTH_DOWN ? "down" : "unchecked";
}

/** Whether a stored health value counts as healthy (unchecked does). */
export function isHealthy(health: number): boolean {
  return health !== HEALTH_DOWN;
}

export { HEALTH_DOWN, HEALTH_UNCHECKED, HEALTH_UP };
