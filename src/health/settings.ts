/**
 * Health settings per upstream, from the config's `healthCheck` blocks (a TCP
 * listener's, an HTTP route's): whether active checks run and how, and the
 * passive settings every upstream has, checked or not.
 *
 * Without a `healthCheck` block an upstream gets no active check (spliced
 * never connects to it on its own) but passive marking still applies:
 * {@link DEFAULT_FALL} failures in a row by real traffic mark it down for
 * {@link DEFAULT_COOLDOWN_MS}.
 *
 * @module
 */
import type { ValidConfig } from "../config.ts";
import type { UpstreamInit } from "../dataplane/protocol.ts";
import type { Topology } from "../generation.ts";
import { parseExpect, type StatusRange } from "./expect.ts";
import { DEFAULT_FALL } from "./passive.ts";

export { DEFAULT_FALL };
/** Passive `cooldown` (ms) when no `healthCheck` block says otherwise. */
export const DEFAULT_COOLDOWN_MS = 10_000;

/** The request of an HTTP check. */
export interface HttpCheck {
  readonly method: string;
  readonly path: string;
  /** Host header; undefined: the upstream's HOST:PORT as written. */
  readonly host: string | undefined;
  readonly expect: readonly StatusRange[];
}

/** What a `healthCheck` block (or its absence) means for one upstream. */
export interface HealthSettings {
  /** Active checks run (a `healthCheck` block is present). */
  readonly active: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** undefined: the check is a TCP connect. */
  readonly http: HttpCheck | undefined;
  readonly passive5xx: boolean;
  readonly cooldownMs: number;
}

/** Active check `interval` (ms) when the block gives none. */
export const DEFAULT_INTERVAL_MS = 2000;
/** Active check `timeout` (ms) when the block gives none. */
export const DEFAULT_TIMEOUT_MS = 1000;
/** Active `rise` when the block gives none. */
export const DEFAULT_RISE = 2;

/** A `healthCheck` block as validated. */
export interface HealthCheckConfig {
  readonly interval?: number;
  readonly timeout?: number;
  readonly rise?: number;
  readonly fall?: number;
  readonly http?: { readonly method: string; readonly path: string; readonly host?: string; readonly expect: string };
  readonly passive5xx?: boolean;
  readonly cooldown?: number;
}

/** One upstream as the health monitor sees it. */
export interface HealthTarget {
  /** Index in the generation's control array. */
  readonly index: number;
  readonly id: string;
  /** Resolved IP address and port. */
  readonly host: string;
  readonly port: number;
  /** HOST:PORT as written in the config (the default Host header). */
  readonly address: string;
  readonly settings: HealthSettings;
}

const PASSIVE_ONLY: HealthSettings = {
  active: false, intervalMs: 0, timeoutMs: 0, rise: 1, fall: DEFAULT_FALL, http: undefined, passive5xx: false, cooldownMs: DEFAULT_COOLDOWN_MS,
};

/**
 * The settings a `healthCheck` block (or none) gives. Active checks run when
 * the block has any of `interval`, `timeout`, `rise`, `http`; a block of
 * only `fall`, `passive5xx`, `cooldown` tunes passive marking alone.
 */
export function settingsOf(block: HealthCheckConfig | undefined): HealthSettings {
  if (!block) return PASSIVE_ONLY;
  const http = block.http && { method: block.http.method, path: block.http.path, host: block.http.host, expect: parseExpect(block.http.expect) };
  return {
    active: block.interval !== undefined || block.timeout !== undefined || block.rise !== undefined || http !== undefined,
    intervalMs: block.interval ?? DEFAULT_INTERVAL_MS, timeoutMs: block.timeout ?? DEFAULT_TIMEOUT_MS,
    rise: block.rise ?? DEFAULT_RISE, fall: block.fall ?? DEFAULT_FALL, http,
    passive5xx: block.passive5xx ?? false, cooldownMs: block.cooldown ?? DEFAULT_COOLDOWN_MS,
  };
}

type WithHealth = { readonly healthCheck?: HealthCheckConfig };

/** The `healthCheck` block of each balancing group, by group index. */
function groupBlocks(config: ValidConfig, topology: Topology): Map<number, HealthCheckConfig | undefined> {
  const out = new Map<number, HealthCheckConfig | undefined>();
  config.listeners.forEach((l, i) => {
    const group = topology.listenerGroups[i];
    if (group !== undefined && group >= 0) out.set(group, (l as WithHealth).healthCheck);
    const routes = (l as { routes?: readonly WithHealth[] }).routes ?? [];
    (topology.routes[i] ?? []).forEach((r, k) => {
      if (r.group >= 0) out.set(r.group, routes[k]?.healthCheck);
    });
  });
  return out;
}

/** Health settings of every upstream of `topology`, by upstream index. */
export function upstreamSettings(config: ValidConfig, topology: Topology): HealthSettings[] {
  const blocks = groupBlocks(config, topology);
  return topology.upstreams.map((u) => settingsOf(blocks.get(u.group)));
}

/** Gives each upstream of `topology` the passive settings its workers apply (`passiveFall`, `passive5xx`). */
export function applyHealthSettings(config: ValidConfig, topology: Topology): void {
  const settings = upstreamSettings(config, topology);
  topology.upstreams.forEach((u, j) => {
    const withPassive: UpstreamInit = { ...u, passiveFall: settings[j].fall, passive5xx: settings[j].passive5xx };
    topology.upstreams[j] = withPassive;
  });
}

/** The upstreams of `topology` as the health monitor watches them. */
export function healthTargets(config: ValidConfig, topology: Topology): HealthTarget[] {
  const settings = upstreamSettings(config, topology);
  return topology.upstreams.map((u, j) => ({
    index: u.index, id: u.id, host: u.host, port: u.port, address: u.id.slice(u.id.lastIndexOf("/") + 1), settings: settings[j],
  }));
}
