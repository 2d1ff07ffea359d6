/**
 * Passive health, in the data-plane workers: real traffic's connect
 * failures, timeouts and resets (and HTTP 5xx when `passive5xx` is set)
 * count in the upstream's S_FAILURES slot; `fall` of them in a row mark it
 * HEALTH_DOWN at once, so no new connection tries it first. A success stores
 * 0. The main thread brings it back (active checks, or the cooldown).
 *
 * @module
 */
import { CONTROL_SLOTS, HEALTH_DOWN, S_FAILURES, S_HEALTH } from "../balance/balancer.ts";

/** Passive `fall` when no `healthCheck` block says otherwise. */
export const DEFAULT_FALL = 3;

/** An upstream as passive health needs it. */
export interface PassiveTarget {
  /** Index in the control array. */
  readonly index: number;
  /** Failures in a row that mark it down. */
  readonly fall: number;
}

/** Counts one failure by traffic; marks the upstream down when it makes `fall` in a row. */
export function passiveFailure(control: Int32Array, t: PassiveTarget): void {
  const base = t.index * CONTROL_SLOTS;
  const failures = Atomics.add(control, base + S_FAILURES, 1) + 1;
  if (failures >= t.fall && Atomics.load(control, base + S_HEALTH) !== HEALTH_DOWN) {
    Atomics.store(control, base + S_HEALTH, HEALTH_DOWN);
  }
}

/** A success by traffic: the failures in a row start over (no write when there were none). */
export function passiveSuccess(control: Int32Array, t: PassiveTarget): void {
  const slot = t.index * CONTROL_SLOTS + S_FAILURES;
  if (Atomics.load(control, slot) !== 0) Atomics.store(control, slot, 0);
}
