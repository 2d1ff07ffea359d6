/**
 * The health monitor of a proxy, on the main thread: runs the active checks
 * (one per upstream for the whole process, started with jitter, never on a
 * data-plane worker), writes verdicts into S_HEALTH of the current
 * generation's control array, notices the passive marks workers make, ends
 * their cooldown where no active check runs, logs every change, and keeps
 * what `/upstreams` and `/metrics` show.
 *
 * ```ts
 * const monitor = new HealthMonitor();
 * monitor.attach(gen.control, healthTargets(config, topology)); // at start and after each reload
 * monitor.view("db/10.0.0.5:5432"); // { health: "up", last_check, last_error, ... }
 * monitor.close();
 * ```
 *
 * @module
 */
import { CONTROL_SLOTS, HEALTH_DOWN, HEALTH_UNCHECKED, S_FAILURES, S_HEALTH } from "../balance/balancer.ts";
import { HISTOGRAM_SIZE, observe, readHistogram, type HistogramValue } from "../stats/histogram.ts";
import { healthLine, logToStderr } from "./log.ts";
import { probe, type ProbeResult } from "./probe.ts";
import { firstDelay, nextDelay } from "./schedule.ts";
import type { HealthTarget } from "./settings.ts";
import { applyResult, healthName, type HealthName, type Tally } from "./verdict.ts";

/** Health of one upstream as `/upstreams` shows it. */
export interface HealthView {
  readonly health: HealthName;
  /** When the last active check finished (ISO), or null. */
  readonly last_check: string | null;
  /** Why the last check (or traffic) failed; null once a check passes. */
  readonly last_error: string | null;
  readonly consecutive_successes: number;
  /** Active checks failed in a row; without active checks, failures in a row by traffic. */
  readonly consecutive_failures: number;
}

interface HealthRecord {
  readonly target: HealthTarget;
  tally: Tally;
  lastCheck: number | null;
  lastError: string | null;
  /** performance.now() when it was last seen going down. */
  downSince: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function checks(n: number): string {
  return n === 1 ? "1 check" : `${n} checks`;
}

/** Options of {@link HealthMonitor}. */
export interface MonitorOptions {
  /** Receives each log line (default: stderr). */
  readonly log?: (line: string) => void;
  /** How often passive marks and cooldowns are looked at (ms, default 100). */
  readonly sweepMs?: number;
}

/** Active checks, passive bookkeeping and health views of a proxy's upstreams. */
export class HealthMonitor {
  #control: Int32Array = new Int32Array(0);
  #records = new Map<string, HealthRecord>();
  readonly #durations = new Map<string, Float64Array>();
  #abort = new AbortController();
  #sweep: ReturnType<typeof setInterval> | undefined;
  readonly #log: (line: string) => void;
  readonly #sweepMs: number;

  constructor(options: MonitorOptions = {}) {
    this.#log = options.log ?? logToStderr;
    this.#sweepMs = options.sweepMs ?? 100;
  }

  /**
   * Watches `targets` in `control` (a new generation): keeps what it knew of
   * upstreams it had by id, forgets the rest, and restarts the checks.
   */
  attach(control: Int32Array, targets: readonly HealthTarget[]): void {
    this.#stopChecks();
    const old = this.#records;
    this.#records = new Map();
    this.#control = control;
    const now = performance.now();
    for (const t of targets) {
      const prev = old.get(t.id);
      const health = Atomics.load(control, t.index * CONTROL_SLOTS + S_HEALTH);
      this.#records.set(t.id, {
        target: t, tally: { health, successes: prev?.tally.successes ?? 0, failures: prev?.tally.failures ?? 0 },
        lastCheck: prev?.lastCheck ?? null, lastError: prev?.lastError ?? null, downSince: prev?.downSince ?? now, timer: undefined,
      });
    }
    for (const id of this.#durations.keys()) if (!this.#records.has(id)) this.#durations.delete(id);
    for (const rec of this.#records.values()) {
      if (rec.target.settings.active) this.#schedule(rec, firstDelay(rec.target.settings.intervalMs));
    }
    this.#sweep ??= setInterval(() => this.#sweepAll(), this.#sweepMs);
  }

  /** Health of upstream `id`, or undefined when it is not watched. */
  view(id: string): HealthView | undefined {
    const rec = this.#records.get(id);
    if (!rec) return undefined;
    this.#notice(rec, performance.now());
    const base = rec.target.index * CONTROL_SLOTS;
    const active = rec.target.settings.active;
    return {
      health: healthName(Atomics.load(this.#control, base + S_HEALTH)),
      last_check: rec.lastCheck === null ? null : new Date(rec.lastCheck).toISOString(),
      last_error: rec.lastError,
      consecutive_successes: active ? rec.tally.successes : 0,
      consecutive_failures: active ? rec.tally.failures : Atomics.load(this.#control, base + S_FAILURES),
    };
  }

  /** Check durations by upstream id (upstreams with active checks). */
  durations(): Record<string, HistogramValue> {
    const out: Record<string, HistogramValue> = {};
    for (const [id, slots] of this.#durations) out[id] = readHistogram([slots], 0);
    return out;
  }

  /** Stops every timer and check in flight. */
  close(): void {
    this.#stopChecks();
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  #stopChecks(): void {
    this.#abort.abort();
    this.#abort = new AbortController();
    for (const rec of this.#records.values()) clearTimeout(rec.timer);
  }

  #schedule(rec: HealthRecord, delay: number): void {
    const signal = this.#abort.signal;
    rec.timer = setTimeout(() => void this.#check(rec, signal), delay);
  }

  async #check(rec: HealthRecord, signal: AbortSignal): Promise<void> {
    const s = rec.target.settings;
    const result = await probe({ ...rec.target, timeoutMs: s.timeoutMs, http: s.http }, signal);
    if (signal.aborted) return;
    this.#record(rec, result);
    this.#schedule(rec, nextDelay(s.intervalMs));
  }

  #record(rec: HealthRecord, result: ProbeResult): void {
    const { id } = rec.target, s = rec.target.settings;
    let slots = this.#durations.get(id);
    if (!slots) this.#durations.set(id, (slots = new Float64Array(HISTOGRAM_SIZE)));
    observe(slots, 0, result.seconds);
    rec.lastCheck = Date.now();
    rec.lastError = result.error;
    this.#notice(rec, performance.now());
    const next = applyResult(rec.tally, result.ok, s.rise, s.fall);
    const from = rec.tally.health;
    rec.tally = next;
    if (next.health === from) return;
    const reason = result.ok ? `${checks(s.rise)} passed in a row` : `${checks(s.fall)} failed in a row: ${result.error}`;
    if (!this.#store(rec, from, next.health, reason)) rec.tally = { ...next, health: from };
  }

  /** Sets S_HEALTH from `from` to `to` unless a worker changed it meanwhile; logs the change. */
  #store(rec: HealthRecord, from: number, to: number, reason: string): boolean {
    const base = rec.target.index * CONTROL_SLOTS;
    if (to !== HEALTH_DOWN) Atomics.store(this.#control, base + S_FAILURES, 0);
    if (Atomics.compareExchange(this.#control, base + S_HEALTH, from, to) !== from) return false;
    if (to === HEALTH_DOWN) rec.downSince = performance.now();
    this.#log(healthLine({ upstream: rec.target.id, from: healthName(from), to: healthName(to), reason }));
    return true;
  }

  /** Takes in a change a worker made (a passive mark): logs it and starts the successes over. */
  #notice(rec: HealthRecord, now: number): void {
    const base = rec.target.index * CONTROL_SLOTS;
    const health = Atomics.load(this.#control, base + S_HEALTH);
    if (health === rec.tally.health) return;
    const failures = Atomics.load(this.#control, base + S_FAILURES);
    const kinds = rec.target.settings.passive5xx ? "connect failures, resets or 5xx" : "connect failures or resets";
    const reason = `${failures} ${kinds} in a row from traffic`;
    this.#log(healthLine({ upstream: rec.target.id, from: healthName(rec.tally.health), to: healthName(health), reason }));
    rec.tally = { ...rec.tally, health, successes: 0 };
    if (health === HEALTH_DOWN) {
      rec.downSince = now;
      rec.lastError = reason;
    }
  }

  #sweepAll(): void {
    const now = performance.now();
    for (const rec of this.#records.values()) {
      this.#notice(rec, now);
      const s = rec.target.settings;
      if (s.active || rec.tally.health !== HEALTH_DOWN || now - rec.downSince < s.cooldownMs) continue;
      if (this.#store(rec, HEALTH_DOWN, HEALTH_UNCHECKED, `cooldown of ${s.cooldownMs} ms over (no active check)`)) {
        rec.tally = { health: HEALTH_UNCHECKED, successes: 0, failures: 0 };
      }
    }
  }
}
