/**
 * The layout of a worker's counters in its SharedArrayBuffer.
 *
 * A worker is the single writer of its buffer; the main thread only reads.
 * Counters are Float64 (exact to 2^53 bytes). The buffer holds one block of
 * {@link FIELDS} per scope: scope 0 is the worker's totals, then one scope per
 * listener, one per HTTP route, then one per upstream (numbered across all listeners).
 *
 * @module
 */
import { HISTOGRAM_SIZE, HISTOGRAMS, histogramOffset, type HistogramName } from "./histogram.ts";

/** Counter names, in slot order. These names are part of the `/stats` interface. */
export const FIELDS = [
  "connections_total",
  "connections_active",
  "bytes_client_to_upstream",
  "bytes_upstream_to_client",
  "bytes_spliced",
  "bytes_copied",
  "splice_fallbacks",
  "errors",
  "connect_failures",
  "connect_timeouts",
  "idle_timeouts",
  "pipes_open",
  "requests_total",
  "responses_1xx",
  "responses_2xx",
  "responses_3xx",
  "responses_4xx",
  "responses_5xx",
  "bytes_sendfile",
  "send_timeouts",
  "upstream_timeouts",
  "retries",
  "access_log_dropped",
  "tls_bad_hello",
  "tls_hello_timeouts",
  "tls_no_route",
  "proxy_protocol_refused",
  "proxy_protocol_untrusted",
  "resets",
  "local_4xx",
  "local_5xx",
] as const;

/** One counter name. */
export type Field = (typeof FIELDS)[number];

/** Slot offsets of each field inside a scope block. */
export const F = Object.fromEntries(FIELDS.map((name, i) => [name, i])) as Record<Field, number>;

/** Slot offset, inside a scope block, of the histograms area (see histogram.ts). */
export const HISTOGRAM_AREA = FIELDS.length;

/** Slot offsets of each histogram inside a scope block. */
export const H = Object.fromEntries(
  HISTOGRAMS.map((name, h) => [name, HISTOGRAM_AREA + histogramOffset(h)]),
) as Record<HistogramName, number>;

/** Number of slots in one scope block: counters, then histograms. */
export const SCOPE_SIZE = FIELDS.length + HISTOGRAMS.length * HISTOGRAM_SIZE;

/** How many scopes a worker buffer holds. */
export function scopeCount(listeners: number, routes: number, upstreams: number): number {
  return 1 + listeners + routes + upstreams;
}

/** Slot base of listener `i`. */
export function listenerBase(i: number): number {
  return (1 + i) * SCOPE_SIZE;
}

/** Slot base of route `r` (global route index) given the listener count. */
export function routeBase(listeners: number, r: number): number {
  return (1 + listeners + r) * SCOPE_SIZE;
}

/** Slot base of upstream `j` (global upstream index) given the listener and route counts. */
export function upstreamBase(listeners: number, routes: number, j: number): number {
  return (1 + listeners + routes + j) * SCOPE_SIZE;
}

/** Allocates a zeroed counter buffer for one worker. */
export function allocateCounters(listeners: number, routes: number, upstreams: number): SharedArrayBuffer {
  return new SharedArrayBuffer(scopeCount(listeners, routes, upstreams) * SCOPE_SIZE * 8);
}
