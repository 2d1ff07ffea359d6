/**
 * `/metrics`: the counters and histograms in the Prometheus text exposition
 * format, version 0.0.4. A pure function of one stats snapshot and one
 * histogram snapshot, so a scrape costs two reads of the shared buffers and
 * one string join; no worker is asked anything.
 *
 * Families, by scope (the label set identifies the object):
 *
 * - `spliced_listener_*{listener}`, `spliced_route_*{listener,route}` (HTTP
 *   routes), `spliced_upstream_*{listener,upstream}`: every counter as
 *   `_total` (`spliced_upstream_bytes_spliced_total`), HTTP responses as
 *   `spliced_*_responses_total{code="2xx"}`, the gauge `connections_active`,
 *   and the histograms (`spliced_listener_connection_duration_seconds`,
 *   `spliced_upstream_connect_seconds`, `spliced_route_http_request_seconds`, ...).
 * - `spliced_worker_*{worker}`: each worker's counters, plus the gauge `pipes_open`.
 * - Scopes of TCP listeners leave out the HTTP-only series (requests,
 *   responses, sendfile bytes, request latency): they could never move.
 * - `spliced_upstream_state{listener,upstream,state}` (1 for the current state),
 *   `spliced_upstream_weight`, `spliced_upstream_healthy` (1/0; unchecked is 1),
 *   `spliced_health_check_duration_seconds{listener,upstream}` (active checks),
 *   `spliced_info{version,runtime}`,
 *   `spliced_build_info{version,runtime,runtime_version,libc,arch}` (always 1), `spliced_ready`,
 *   `spliced_config_generation`, `spliced_start_time_seconds`,
 *   `spliced_access_log_dropped_total{listener}` (HTTP listeners),
 *   `spliced_listener_tls_bad_hello_total`, `..._tls_hello_timeouts_total` and
 *   `..._tls_no_route_total{listener}` (TLS passthrough listeners, which
 *   otherwise have the series of TCP listeners).
 * - The standard process metrics (src/admin/process_metrics.ts):
 *   `process_cpu_seconds_total`, `process_resident_memory_bytes`,
 *   `process_open_fds`, `process_max_fds`, `process_start_time_seconds`.
 *   They are read from this process at render time unless `info.process`
 *   gives them.
 *
 * @module
 */
import process from "node:process";
import { loadedSys, machineName } from "../../ffi/mod.ts";
import type { Counters, HistogramsSnapshot, StatsSnapshot } from "../stats/aggregate.ts";
import { runtimeVersion } from "../version.ts";
import { processSamples, readProcessFacts, type ProcessFacts } from "./process_metrics.ts";
import type { HistogramValue } from "../stats/histogram.ts";
import { FIELDS } from "../stats/layout.ts";

/** The media type of the format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Counters that are gauges (they go down). Everything else is a counter. */
const GAUGES = new Set(["connections_active", "pipes_open"]);
/** Counters only meaningful per worker (the pipe pool is the worker's). */
const WORKER_ONLY = new Set(["pipes_open"]);
/** Counters of TLS passthrough listeners only: `spliced_listener_tls_*_total{listener}`, not one per scope. */
const TLS_FIELDS = ["tls_bad_hello", "tls_hello_timeouts", "tls_no_route"] as const;
const TLS_HELP: Record<(typeof TLS_FIELDS)[number], string> = {
  tls_bad_hello: "TLS connections closed for bytes that are not a valid ClientHello (not TLS, malformed, too large)",
  tls_hello_timeouts: "TLS connections closed because the ClientHello was not complete in clientHelloTimeout",
  tls_no_route: "TLS connections closed because no route takes their SNI and there is no default route",
};
/** Counters with a family of their own (`spliced_access_log_dropped_total{listener}`), not one per scope. */
const OWN_FAMILY = new Set(["access_log_dropped", ...TLS_FIELDS]);

const HELP: Record<string, string> = {
  connections_total: "Connections opened",
  connections_active: "Connections open now",
  bytes_client_to_upstream: "Bytes delivered from clients to upstreams",
  bytes_upstream_to_client: "Bytes delivered from upstreams to clients",
  bytes_spliced: "Bytes moved by splice(2), never copied to user space",
  bytes_copied: "Bytes moved by the read/write fallback through user space",
  splice_fallbacks: "Connections that fell back to read/write",
  errors: "Resets, failed writes and clients that found no upstream",
  connect_failures: "Upstream connects refused or failed",
  connect_timeouts: "Upstream connects that timed out",
  idle_timeouts: "Connections closed for idleness",
  pipes_open: "Pipes held (in use or pooled)",
  requests_total: "HTTP requests",
  responses: "HTTP responses by status class",
  bytes_sendfile: "Bytes sent from files by sendfile(2)",
  send_timeouts: "Connections closed because the peer took no byte for sendTimeout",
  upstream_timeouts: "HTTP exchanges whose upstream sent nothing for upstreamTimeout",
  retries: "Idempotent requests sent again after a stale pooled upstream connection",
  proxy_protocol_refused: "Connections closed for a malformed, partial or late PROXY protocol header",
  proxy_protocol_untrusted: "Connections closed because they came from outside trustedProxies",
  resets: "Connections reset: a socket failed on either side (ECONNRESET, EPIPE) mid-stream",
  local_responses: "HTTP error responses spliced made itself (bad request, no route, 502, 504...) by status class",
  connection_duration_seconds: "Duration of proxied connections",
  upstream_connect_seconds: "Time to connect to the upstream",
  http_request_seconds: "HTTP request latency, head received to response complete",
  duration_seconds: "Duration of active health checks",
};

const SCOPE_TEXT: Record<string, string> = {
  listener: "per listener", route: "per HTTP route", upstream: "per upstream", worker: "per worker", health_check: "per upstream",
};

/** `responses_2xx` and the like become one family with a `code` label. */
const STATUS_CLASS = /^responses_(\dxx)$/;
/** `local_4xx` and `local_5xx` become `..._local_responses_total{code}`. */
const LOCAL_CLASS = /^local_(\dxx)$/;

/** Series that only HTTP listeners (and their routes and upstreams) can move. */
const HTTP_ONLY = new Set(["requests_total", "bytes_sendfile", "http_request_seconds", "upstream_timeouts", "retries"]);
const isHttpOnly = (name: string) => HTTP_ONLY.has(name) || STATUS_CLASS.test(name) || LOCAL_CLASS.test(name);

/** Extra facts shown next to the counters. */
export interface MetricsInfo {
  readonly version: string;
  readonly ready: boolean;
  /** Process start, seconds since the epoch. */
  readonly startTimeSeconds: number;
  /** The `process_*` facts; read from this process when absent. */
  readonly process?: ProcessFacts;
}

/** Escapes a label value (backslash, double quote, newline). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `a="x",b="y"` (no braces) for a label set; escaped once per series, not per line. */
function labelBody(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
}

/** Formats a sample value the way Prometheus parses it. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** Metric name of a histogram in a scope: `spliced_upstream_connect_seconds`, not `..._upstream_upstream_...`. */
export function histogramFamily(scope: string, name: string): string {
  return name.startsWith(`${scope}_`) ? `spliced_${name}` : `spliced_${scope}_${name}`;
}

/** Family name of a counter in a scope: `spliced_listener_bytes_spliced_total`. */
export function counterFamily(scope: string, field: string): string {
  if (GAUGES.has(field)) return `spliced_${scope}_${field}`;
  if (STATUS_CLASS.test(field)) return `spliced_${scope}_responses_total`;
  if (LOCAL_CLASS.test(field)) return `spliced_${scope}_local_responses_total`;
  return `spliced_${scope}_${field.replace(/_total$/, "")}_total`;
}

/** How one counter field of a scope is exposed; computed once per scope kind. */
interface CounterPlan {
  readonly field: string;
  readonly family: string;
  readonly type: string;
  readonly help: string;
  /** `,code="2xx"` for a status class, else "". */
  readonly extra: string;
  readonly httpOnly: boolean;
}

const plans = new Map<string, CounterPlan[]>();

function counterPlan(scope: string): CounterPlan[] {
  let plan = plans.get(scope);
  if (plan) return plan;
  plan = FIELDS.filter((f) => !OWN_FAMILY.has(f) && (scope === "worker" || !WORKER_ONLY.has(f))).map((field) => {
    const cls = STATUS_CLASS.exec(field);
    const local = LOCAL_CLASS.exec(field);
    const helpKey = cls ? "responses" : local ? "local_responses" : field;
    return {
      field,
      family: counterFamily(scope, field),
      type: GAUGES.has(field) ? "gauge" : "counter",
      help: `${HELP[helpKey] ?? field.replace(/_/g, " ")}, ${SCOPE_TEXT[scope]}.`,
      extra: cls ? `code="${cls[1]}"` : local ? `code="${local[1]}"` : "",
      httpOnly: isHttpOnly(field),
    };
  });
  plans.set(scope, plan);
  return plan;
}

/** Accumulates families in first-seen order; each family's HELP/TYPE comes once, before its samples. */
class Exposition {
  readonly #families = new Map<string, string[]>();
  #le: string[] = [];

  family(name: string, type: string, help: string): string[] {
    let lines = this.#families.get(name);
    if (!lines) {
      lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
      this.#families.set(name, lines);
    }
    return lines;
  }

  sample(name: string, type: string, help: string, labels: string, value: number): void {
    this.family(name, type, help).push(labels ? `${name}{${labels}} ${formatValue(value)}` : `${name} ${formatValue(value)}`);
  }

  counters(scope: string, labels: string, counters: Counters, http: boolean): void {
    for (const p of counterPlan(scope)) {
      if (p.httpOnly && !http) continue;
      const l = p.extra ? (labels ? `${labels},${p.extra}` : p.extra) : labels;
      this.sample(p.family, p.type, p.help, l, counters[p.field as keyof Counters]);
    }
  }

  histograms(scope: string, labels: string, bounds: readonly number[], hists: Record<string, HistogramValue>, http: boolean): void {
    if (this.#le.length !== bounds.length) this.#le = bounds.map(formatValue);
    for (const [name, h] of Object.entries(hists)) {
      if (!http && isHttpOnly(name)) continue;
      const family = histogramFamily(scope, name);
      const lines = this.family(family, "histogram", `${HELP[name] ?? name}, ${SCOPE_TEXT[scope]} (seconds).`);
      const bucket = `${family}_bucket{${labels ? `${labels},` : ""}le="`;
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += h.buckets[i] ?? 0;
        lines.push(`${bucket}${this.#le[i]}"} ${cumulative}`);
      }
      // The workers write while we read: keep +Inf >= the last bucket.
      const count = Math.max(h.count, cumulative);
      const braces = labels ? `{${labels}}` : "";
      lines.push(`${bucket}+Inf"} ${count}`, `${family}_sum${braces} ${formatValue(h.sum)}`, `${family}_count${braces} ${count}`);
    }
  }

  text(): string {
    const out: string[] = [];
    for (const lines of this.#families.values()) for (const line of lines) out.push(line);
    out.push("");
    return out.join("\n");
  }
}

/** Renders the exposition for one snapshot. */
export function renderMetrics(stats: StatsSnapshot, hists: HistogramsSnapshot, info: MetricsInfo): string {
  const out = new Exposition();
  out.sample("spliced_info", "gauge", "Version and runtime of this spliced process.", labelBody({ version: info.version, runtime: stats.runtime }), 1);
  const build = { version: info.version, runtime: stats.runtime, runtime_version: runtimeVersion(), libc: stats.libc ?? "unknown", arch: machineName(process.arch) };
  out.sample("spliced_build_info", "gauge", "Build of this spliced process: its version, runtime, libc and CPU (always 1).", labelBody(build), 1);
  for (const p of processSamples(info.process ?? readProcessFacts(loadedSys()))) {
    if (p.value !== undefined) out.sample(p.name, p.type, p.help, "", p.value);
  }
  out.sample("spliced_start_time_seconds", "gauge", "Start time of the proxy, seconds since the epoch.", "", info.startTimeSeconds);
  out.sample("spliced_ready", "gauge", "1 when every listener is bound and has a usable upstream.", "", info.ready ? 1 : 0);
  out.sample("spliced_config_generation", "gauge", "Config generation (1 at start, +1 per reload).", "", stats.generation);
  out.sample("spliced_worker_restarts_total", "counter", "Data-plane workers replaced after a failure.", "", stats.worker_restarts ?? 0);
  out.sample("spliced_workers_down", "gauge", "Data-plane workers that failed and are not running again yet.", "", stats.workers_down ?? 0);
  const http = (listener: string) => stats.listeners[listener]?.mode === "http";
  for (const [listener, l] of Object.entries(stats.listeners)) {
    const labels = labelBody({ listener });
    out.counters("listener", labels, l, http(listener));
    const dropHelp = "Access-log lines dropped because the log's target was not taking them fast enough.";
    if (http(listener)) out.sample("spliced_access_log_dropped_total", "counter", dropHelp, labels, l.access_log_dropped ?? 0);
    if (l.mode === "tls") {
      for (const f of TLS_FIELDS) out.sample(counterFamily("listener", f), "counter", `${TLS_HELP[f]}, per listener.`, labels, l[f] ?? 0);
    }
    const h = hists.listeners[listener];
    if (h) out.histograms("listener", labels, hists.bounds, h, http(listener));
  }
  for (const [id, r] of Object.entries(stats.routes ?? {})) {
    const labels = labelBody({ listener: r.listener, route: id.slice(r.listener.length + 1) });
    out.counters("route", labels, r, true);
    const h = hists.routes?.[id];
    if (h) out.histograms("route", labels, hists.bounds, h, true);
  }
  for (const [upstream, u] of Object.entries(stats.upstreams)) {
    const labels = labelBody({ listener: u.listener, upstream });
    out.counters("upstream", labels, u, http(u.listener));
    const h = hists.upstreams[upstream];
    if (h) out.histograms("upstream", labels, hists.bounds, h, http(u.listener));
    const stateHelp = "Upstream state: 1 for the current one (up, draining, disabled).";
    for (const state of ["up", "draining", "disabled"]) {
      out.sample("spliced_upstream_state", "gauge", stateHelp, `${labels},state="${state}"`, u.state === state ? 1 : 0);
    }
    out.sample("spliced_upstream_weight", "gauge", "Upstream weight in the round robin (0-1000).", labels, u.weight);
    const healthyHelp = "1 unless health checks or traffic found the upstream down (unchecked counts as 1).";
    if (u.health !== undefined) out.sample("spliced_upstream_healthy", "gauge", healthyHelp, labels, u.health === "down" ? 0 : 1);
    const checks = hists.healthChecks?.[upstream];
    if (checks) out.histograms("health_check", labels, hists.bounds, { duration_seconds: checks }, true);
  }
  stats.workers.forEach((w, i) => out.counters("worker", labelBody({ worker: String(i) }), w, true));
  return out.text();
}
