/**
 * The stats history's ring, rates and quantiles, fed by hand-made counter
 * blocks (the layout workers write) and explicit clock times.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Gathered } from "./aggregate.ts";
import { BUCKETS, observe } from "./histogram.ts";
import {
  historyBytes, isHistoryWindow, MAX_HISTORY_SCOPES, MINUTE_POINTS, SCOPE_HISTORY_BYTES, SECOND_POINTS, StatsHistory,
  type HistorySample,
} from "./history.ts";
import { F, H, SCOPE_SIZE } from "./layout.ts";
import { quantile, quantilesOf } from "./rates.ts";

const T0 = Date.UTC(2026, 11, 2, 6, 0, 0, 300); // 06:00:00.300

function scope(): Float64Array {
  return new Float64Array(SCOPE_SIZE);
}

function sample(totals: Float64Array, listeners: Record<string, Float64Array> = {}, upstreams: string[] = []): HistorySample {
  const gathered: Gathered = { totals, listeners: new Map(Object.entries(listeners)), routes: new Map(), upstreams: new Map() };
  return { gathered, names: { listenerNames: Object.keys(listeners), routeIds: [], upstreamIds: upstreams } };
}

test("quantile: linear inside the bucket, the largest bound in +Inf, NaN when empty", () => {
  const b = BUCKETS.map(() => 0);
  assert.ok(Number.isNaN(quantile(b, 0, 0.5)));
  b[2] = 100; // (0.001, 0.0025]
  assert.equal(quantile(b, 100, 0.5), 0.001 + 0.0015 * 0.5);
  assert.equal(quantile(b, 100, 1), 0.0025);
  b[0] = 100; // (0, 0.0005]: now half the observations are below 0.0005
  assert.equal(quantile(b, 200, 0.5), 0.0005);
  assert.equal(quantile(b, 200, 0.25), 0.00025);
  assert.equal(quantile(b, 300, 0.99), BUCKETS[BUCKETS.length - 1], "100 past the last bound: +Inf reads as the last bound");
  assert.deepEqual(quantilesOf({ buckets: BUCKETS.map(() => 0), count: 0, sum: 0 }), { count: 0, sum_seconds: 0, p50: null, p95: null, p99: null });
});

test("history: rates per second from counter deltas, gauges as they are, never negative", () => {
  const h = new StatsHistory();
  const raw = scope();
  h.tick(sample(raw), T0);
  assert.equal(h.read("15m").time.length, 0, "the first sample is only a baseline");
  raw[F.requests_total] = 30;
  raw[F.responses_4xx] = 5;
  raw[F.bytes_spliced] = 4e9;
  raw[F.connections_active] = 7;
  h.tick(sample(raw.slice()), T0 + 2000);
  raw[F.requests_total] = 20; // a restarted worker's counters went back
  h.tick(sample(raw.slice()), T0 + 3000);
  const d = h.read("15m");
  assert.deepEqual(d.time, [T0 + 2000, T0 + 3000]);
  assert.deepEqual(d.interval_seconds, [2, 1]);
  assert.deepEqual(d.totals.rates.requests_total, [15, 0]);
  assert.deepEqual(d.totals.rates.responses_4xx, [2.5, 0]);
  assert.deepEqual(d.totals.rates.bytes_spliced, [2e9, 0]);
  assert.deepEqual(d.totals.gauges.connections_active, [7, 7]);
  assert.deepEqual(d.totals.latency.http_request_seconds.p99, [null, null], "no request timed: no quantile");
});

test("history: latency quantiles come from the histogram's delta over each interval", () => {
  const h = new StatsHistory();
  const raw = scope();
  for (let i = 0; i < 100; i++) observe(raw, H.http_request_seconds, 0.2); // before the window: (0.1, 0.25]
  h.tick(sample(raw.slice()), T0);
  for (let i = 0; i < 100; i++) observe(raw, H.http_request_seconds, 0.0004); // (0, 0.0005]
  h.tick(sample(raw.slice()), T0 + 1000);
  const lat = h.read("15m").totals.latency.http_request_seconds;
  assert.deepEqual(lat.p50, [0.00025], "only this second's 100 requests count");
  assert.deepEqual(lat.p99, [0.000495]);
});

test("history: 15 minutes of 1 s points and 24 h of 1 min points, in fixed memory", () => {
  const h = new StatsHistory();
  const raw = scope();
  const ticks = 2 * 24 * 60 * 60; // two days of seconds, the clock jumping 30 s per tick past the first 1000
  let now = T0;
  for (let i = 0; i <= ticks / 30; i++) {
    raw[F.connections_total] += 1;
    h.tick(sample(raw.slice(), { tcp: raw.slice() }), now);
    now += i < 1000 ? 1000 : 30_000;
  }
  const secs = h.read("15m"), hour = h.read("1h"), day = h.read("24h");
  assert.equal(secs.time.length, SECOND_POINTS);
  assert.equal(hour.time.length, 60);
  assert.equal(day.time.length, MINUTE_POINTS);
  assert.equal(secs.step_seconds, 1);
  assert.equal(day.step_seconds, 60);
  for (const d of [secs, day]) for (let i = 1; i < d.time.length; i++) assert.ok(d.time[i] > d.time[i - 1], "oldest first");
  assert.deepEqual(hour.time, day.time.slice(-60));
  assert.ok(day.time.at(-1)! - day.time[0] <= 24 * 3600_000, "24 h at most");
  assert.ok(Object.hasOwn(day.listeners, "tcp"));
  assert.equal(h.memoryBytes, historyBytes(2));
  assert.equal(secs.memory_bytes, historyBytes(2));
});

test("history: minute points cover the minute, with the rate over it", () => {
  const h = new StatsHistory();
  const raw = scope();
  const start = Date.UTC(2026, 11, 2, 6, 0, 0, 0);
  for (let s = 0; s <= 120; s++) {
    h.tick(sample(raw.slice()), start + s * 1000 + 250);
    raw[F.requests_total] += 6;
  }
  const d = h.read("1h");
  assert.deepEqual(d.time, [start + 60_250, start + 120_250]);
  assert.deepEqual(d.interval_seconds, [60, 60]);
  assert.deepEqual(d.totals.rates.requests_total, [6, 6]);
});

test("history: a scope new to the config starts with nulls and counts from zero, one that left goes", () => {
  const h = new StatsHistory();
  const t = scope(), a = scope(), b = scope();
  h.tick(sample(t, { a }), T0);
  h.tick(sample(t, { a }), T0 + 1000);
  b[F.bytes_copied] = 5; // done by the new scope before the first tick that sees it
  h.tick(sample(t, { a, b }), T0 + 2000);
  a[F.bytes_copied] = 10;
  b[F.bytes_copied] = 25;
  h.tick(sample(t, { a, b }), T0 + 3000);
  let d = h.read("15m");
  assert.deepEqual(d.listeners.a.rates.bytes_copied, [0, 0, 10]);
  assert.deepEqual(d.listeners.b.rates.bytes_copied, [null, 5, 20]);
  h.tick(sample(t, { b }), T0 + 4000);
  d = h.read("15m");
  assert.deepEqual(Object.keys(d.listeners), ["b"]);
  assert.equal(h.memoryBytes, historyBytes(2), "the scope that left let its memory go");
});

test("history: scopes past the cap keep no history and are named", () => {
  const h = new StatsHistory();
  const ids = Array.from({ length: MAX_HISTORY_SCOPES + 3 }, (_, i) => `tcp/10.0.0.${i}:80`);
  h.tick(sample(scope(), {}, ids), T0);
  h.tick(sample(scope(), {}, ids), T0 + 1000);
  const d = h.read("15m");
  assert.equal(Object.keys(d.upstreams).length, MAX_HISTORY_SCOPES);
  assert.deepEqual(d.untracked, ids.slice(-3).map((id) => `upstream:${id}`));
  assert.equal(h.memoryBytes, historyBytes(MAX_HISTORY_SCOPES + 1));
  assert.equal(historyBytes(1000), historyBytes(MAX_HISTORY_SCOPES + 1), "the bound");
  assert.ok(SCOPE_HISTORY_BYTES < 320 * 1024);
});

test("history: windows by name; the timer stops", async () => {
  assert.ok(isHistoryWindow("15m") && isHistoryWindow("1h") && isHistoryWindow("24h"));
  for (const bad of ["", "5m", "15M", "toString", "__proto__"]) assert.equal(isHistoryWindow(bad), false, bad);
  const h = new StatsHistory();
  let calls = 0;
  h.start(() => (calls++, sample(scope())), 20);
  assert.equal(calls, 1, "samples at once");
  await new Promise((r) => setTimeout(r, 120));
  h.stop();
  const after = calls;
  assert.ok(after >= 2);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(calls, after, "no tick after stop");
});
