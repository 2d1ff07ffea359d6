/**
 * `/stats/history` and `/stats/latency` on a running `bin/spliced` with real
 * traffic: an HTTP listener (route `web/api` to a real origin, unrouted paths
 * answered 404 by the proxy) and a TCP listener to a dead port. The counts the
 * history's rates add up to are the requests, statuses and failed connects
 * this test made; the latency quantiles are those of the requests timed.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { historyBytes } from "../src/stats/history.ts";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { request, startOrigin, type Origin } from "./helpers/origin.ts";
import { connect, deadPort } from "./helpers/peers.ts";
import { eventually, quietFdCount, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";

let origin: Origin;
let proxy: SplicedProcess;
let dead: number;
let configPath: string;
const tmp = tempDir("spliced-history-");
const TOKEN = "history-test-token-0123456789";

function config(extraRoute = false): unknown {
  const api = { name: "api", path: "/api/", stripPrefix: true, upstreams: [`127.0.0.1:${origin.port}`] };
  const extra = { name: "extra", path: "/extra/", stripPrefix: true, upstreams: [`127.0.0.1:${origin.port}`] };
  return {
    workers: 2,
    admin: { listen: "127.0.0.1:0", token: TOKEN },
    listeners: [
      { name: "web", mode: "http", listen: "127.0.0.1:0", routes: extraRoute ? [extra, api] : [api] },
      { name: "tcp", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${dead}`] },
    ],
  };
}

before(async () => {
  origin = await startOrigin();
  dead = await deadPort();
  configPath = writeConfig(tmp.dir, config());
  proxy = await startSpliced(["--config", configPath]);
});

after(async () => {
  assert.equal(await proxy.stop(), 0, "exits 0: the history's timer holds nothing open");
  await origin.close();
  tmp.remove();
});

async function get(path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}${path}`, { headers: { connection: "close" } });
  return { status: res.status, json: await res.json() };
}

/** The count a rate series stands for: each point's rate × its interval (whole events), summed. */
function total(rates: (number | null)[], intervals: number[]): number {
  return rates.reduce<number>((n, r, i) => n + Math.round((r ?? 0) * intervals[i]), 0);
}

test("history: request, status and connect-failure counts add up to the traffic sent", { timeout: 60_000 }, async () => {
  const sizes = [1000, 20_000, 300_000];
  const ok = await Promise.all(Array.from({ length: 30 }, (_, i) => request(proxy.ports.web, { path: `/api/gen?size=${sizes[i % 3]}`, headers: { "x-id": `r${i}` } })));
  for (const [i, r] of ok.entries()) {
    assert.equal(r.status, 200);
    assert.equal(r.sha256, origin.sent.get(`r${i}`), "the body arrived as the origin sent it");
  }
  for (let i = 0; i < 6; i++) assert.equal((await request(proxy.ports.web, { path: `/unrouted/${i}` })).status, 404); // the proxy's own 404
  for (let i = 0; i < 4; i++) assert.equal((await request(proxy.ports.web, { path: `/api/missing/${i}` })).status, 404); // the origin's
  for (let i = 0; i < 3; i++) {
    const c = await connect(proxy.ports.tcp);
    await c.ended; // the upstream refused: the proxy ends the client's side
    c.socket.end();
    await c.closed;
  }

  let h: any;
  assert.ok(await eventually(async () => {
    h = (await get("/stats/history?window=15m")).json;
    return total(h.totals.rates.requests_total, h.interval_seconds) === 40 && total(h.totals.rates.responses_4xx, h.interval_seconds) === 10;
  }, 15_000), `history sums to 40 requests, 10 of them 4xx: ${JSON.stringify(h?.totals.rates.requests_total)}`);
  const iv = h.interval_seconds;
  assert.equal(h.window, "15m");
  assert.equal(h.step_seconds, 1);
  assert.equal(h.time.length, iv.length);
  assert.ok(h.time.length >= 1);
  const t = h.totals.rates;
  assert.equal(total(t.responses_2xx, iv), 30);
  assert.equal(total(t.responses_5xx, iv) + total(t.responses_1xx, iv) + total(t.responses_3xx, iv), 0);
  const route = h.routes["web/api"].rates;
  assert.equal(total(route.requests_total, iv), 34, "the unrouted 6 are not the route's");
  assert.equal(total(route.responses_2xx, iv), 30);
  assert.equal(total(route.responses_4xx, iv), 4);
  assert.equal(total(h.listeners.web.rates.requests_total, iv), 40);
  assert.equal(total(h.listeners.web.rates.responses_4xx, iv), 10);
  assert.equal(total(t.local_4xx, iv), 6, "of the 10 4xx, the proxy made the 6 unrouted 404s");
  assert.equal(total(route.local_4xx, iv), 0, "the route's 4 404s came from the origin");
  assert.equal(total(t.local_5xx, iv) + total(t.resets, iv), 0);
  const body = 30 / 3 * (1000 + 20_000 + 300_000);
  const moved = total(route.bytes_upstream_to_client, iv);
  assert.ok(moved >= body && moved < body + 40 * 1024, `route bytes upstream→client ${moved} hold the ${body} body bytes plus heads`);
  assert.equal(total(route.bytes_spliced, iv) + total(route.bytes_copied, iv) + total(route.bytes_sendfile, iv),
    total(route.bytes_upstream_to_client, iv) + total(route.bytes_client_to_upstream, iv), "every byte went by one path");

  const stats = (await get("/stats")).json;
  const up = `tcp/127.0.0.1:${dead}`;
  assert.ok(stats.upstreams[up].connect_failures >= 3);
  assert.equal(total(h.upstreams[up].rates.connect_failures, iv), stats.upstreams[up].connect_failures);
  assert.equal(total(h.listeners.tcp.rates.connections_total, iv), 3);
  assert.equal(h.listeners.tcp.gauges.connections_active.at(-1), 0);

  const lat = h.routes["web/api"].latency.http_request_seconds;
  const timed = lat.p99.map((v: number | null, i: number) => [v, lat.p95[i], lat.p50[i]]).filter(([v]: number[]) => v !== null);
  assert.ok(timed.length >= 1, "the seconds with requests carry quantiles");
  for (const [p99, p95, p50] of timed) assert.ok(p99 >= p95 && p95 >= p50 && p50 > 0, `${p50} <= ${p95} <= ${p99}`);
  const idle = route.requests_total.map((r: number | null, i: number) => [r, lat.p99[i]]).filter(([r]: number[]) => r === 0);
  for (const [, p99] of idle) assert.equal(p99, null, "a second without requests has no quantile");

  assert.equal(h.memory_bytes, historyBytes(1 + Object.keys(stats.listeners).length + Object.keys(stats.routes).length + Object.keys(stats.upstreams).length));
  const since = h.time.at(-1) - 1;
  const tail = (await get(`/stats/history?since=${since}`)).json;
  assert.ok(tail.time.length >= 1 && tail.time.every((x: number) => x > since), "since: only later points");
  assert.equal(tail.routes["web/api"].rates.requests_total.length, tail.time.length);
  const hour = (await get("/stats/history?window=1h")).json;
  assert.equal(hour.step_seconds, 60);
  assert.ok(hour.time.length <= 1, "a proxy this young has at most one minute point");
});

test("latency: quantiles and counts of the requests timed, by scope", async () => {
  const route = await get("/stats/latency?scope=route:web/api");
  assert.equal(route.status, 200);
  assert.equal(route.json.scope, "route:web/api");
  const http = route.json.histograms.http_request_seconds;
  assert.equal(http.count, 34);
  assert.ok(http.p50 > 0 && http.p50 <= http.p95 && http.p95 <= http.p99, JSON.stringify(http));
  assert.ok(http.sum_seconds > 0);
  const whole = (await get("/stats/latency")).json;
  assert.equal(whole.scope, null);
  assert.equal(whole.histograms.http_request_seconds.count, 40);
  assert.equal((await get("/stats/latency?scope=listener:web")).json.histograms.http_request_seconds.count, 40);
  const tcp = (await get("/stats/latency?scope=listener:tcp")).json.histograms;
  assert.equal(tcp.http_request_seconds.count, 0);
  assert.equal(tcp.http_request_seconds.p99, null);
  assert.equal(tcp.connection_duration_seconds.count, 3);
  const up = (await get(`/stats/latency?scope=${encodeURIComponent(`upstream:web/api/127.0.0.1:${origin.port}`)}`));
  assert.equal(up.status, 200, JSON.stringify(up.json));
  assert.equal(up.json.histograms.http_request_seconds.count, 34);
});

test("history and latency: polling them holds no fd", async () => {
  const before = await quietFdCount(proxy);
  for (let i = 0; i < 20; i++) {
    assert.equal((await get(i % 2 ? "/stats/history?window=24h" : "/stats/latency?scope=listener:web")).status, 200);
  }
  assert.equal(await quietFdCount(proxy, before), before);
});

test("history and latency: bad windows and scopes get one clear line", async () => {
  for (const w of ["5m", "", "24H"]) {
    const r = await get(`/stats/history?window=${w}`);
    if (w === "") { assert.equal(r.status, 200); continue; } // no window: 15m
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, "invalid_value");
    assert.equal(r.json.error.message, `window: expected one of 15m, 1h, 24h, got "${w}"`);
  }
  for (const since of ["abc", "-1", "1.5"]) {
    const r = await get(`/stats/history?since=${since}`);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.message, `since: expected a time in Unix milliseconds (as in "time"), got "${since}"`);
  }
  for (const s of ["", "web", "route:", "pool:web"]) {
    const r = await get(`/stats/latency?scope=${encodeURIComponent(s)}`);
    assert.equal(r.status, 400, s);
    assert.equal(r.json.error.field, "scope");
    assert.match(r.json.error.message, /^scope: expected listener:NAME, route:LISTENER\/ROUTE or upstream:ID/);
  }
  for (const s of ["route:web/none", "listener:nope", "upstream:web/api/127.0.0.1:1"]) {
    const r = await get(`/stats/latency?scope=${encodeURIComponent(s)}`);
    assert.equal(r.status, 404, s);
    assert.equal(r.json.error.code, "unknown_scope");
  }
  for (const path of ["/stats/history", "/stats/latency"]) {
    const res = await fetch(`http://127.0.0.1:${proxy.adminPort}${path}`, { method: "POST", headers: { connection: "close" } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    await res.body?.cancel();
  }
});

test("history: a reload keeps the scopes it keeps, and a new route starts with nulls", { timeout: 30_000 }, async () => {
  writeConfig(tmp.dir, config(true));
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/reload`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, connection: "close" } });
  assert.equal(res.status, 200, await res.text());
  for (let i = 0; i < 5; i++) assert.equal((await request(proxy.ports.web, { path: "/extra/gen?size=10" })).status, 200);
  let h: any;
  assert.ok(await eventually(async () => {
    h = (await get("/stats/history")).json;
    return total(h.routes["web/extra"]?.rates.requests_total ?? [], h.interval_seconds) === 5;
  }, 15_000), "the new route's history counts its 5 requests");
  const iv = h.interval_seconds;
  assert.equal(h.routes["web/extra"].rates.requests_total[0], null, "no history before the route existed");
  assert.equal(total(h.routes["web/api"].rates.requests_total, iv), 34, "the kept route's counts went on across the reload");
  assert.equal(total(h.totals.rates.requests_total, iv), 45, "no jump in the totals at the reload");
});
