/**
 * The admin API in-process (library `startProxy` with an `admin` block, and
 * `adminApp` mounted in a user's Hono app): every endpoint's shape and
 * status, errors, auth, the body limit, `/metrics` parsed back (and checked by
 * `promtool` when installed), and the lifecycle of `/events` streams.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { Hono } from "hono";
import { adminApp, ConfigError, startProxy, type Proxy } from "../src/mod.ts";
import { createAdmin } from "../src/admin/app.ts";
import { isLoopback, isLoopbackHostHeader, resolveAdminToken, tokenChecker } from "../src/admin/auth.ts";
import { serveAdminFor } from "../src/admin/server.ts";
import { serve } from "../src/admin/serve.ts";
import { counterFamily, escapeLabel, formatValue, histogramFamily } from "../src/admin/metrics.ts";
import { connect, deadPort, echoServer, type TestServer } from "./helpers/peers.ts";
import { eventually, sleep } from "./helpers/spliced.ts";
import { parseMetrics, promtoolCheck, sample } from "./helpers/metrics.ts";

const TOKEN = "test-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), "spliced-admin-"));

interface Setup {
  proxy: Proxy;
  echo: TestServer;
  dead: number;
  base: string;
  /** The two upstream ids: the echo server's, then the dead port's. */
  ids: [string, string];
}

/** A proxy (listener "svc" → echo server, dead port) with its admin server on 127.0.0.1:0. */
async function setup(admin: Record<string, unknown> = { token: TOKEN }, workers = 2): Promise<Setup> {
  const echo = await echoServer();
  const dead = await deadPort();
  const proxy = await startProxy({
    workers,
    admin: { listen: "127.0.0.1:0", ...admin },
    listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${echo.port}`, `127.0.0.1:${dead}`] }],
  });
  const base = `http://127.0.0.1:${proxy.adminAddress()!.port}`;
  return { proxy, echo, dead, base, ids: [`svc/127.0.0.1:${echo.port}`, `svc/127.0.0.1:${dead}`] };
}

async function teardown(s: Setup): Promise<void> {
  await s.proxy.close(0);
  await s.echo.close();
}

async function call(base: string, method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(base + path, { method, body: init.body, headers: { connection: "close", ...init.headers } });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const enc = encodeURIComponent;

/** GET with a Host header of our choice (fetch may not send one), over a raw socket. */
function getWithHost(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = "";
    sock.on("data", (d) => (text += d));
    sock.on("error", reject);
    sock.on("close", () => resolve({ status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) }));
  });
}

test("admin: read endpoints answer with their documented shapes", { timeout: 60_000 }, async () => {
  const s = await setup();
  const [live, dead] = s.ids;
  try {
    const client = await connect(s.proxy.address("svc").port);
    client.socket.write("hello");
    await eventually(() => client.received.bytes === 5);

    assert.deepEqual((await call(s.base, "GET", "/healthz")).json, { status: "ok" });
    const ready = await call(s.base, "GET", "/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { ready: true, reasons: [] });

    const stats = (await call(s.base, "GET", "/stats")).json;
    for (const key of ["runtime", "uptime_seconds", "generation", "totals", "workers", "listeners", "routes", "upstreams"]) {
      assert.ok(key in stats, `/stats has ${key}`);
    }
    assert.equal(stats.workers.length, 2);
    assert.equal(stats.totals.connections_active, 1);
    assert.equal(stats.listeners.svc.mode, "tcp");
    assert.equal(stats.upstreams[live].state, "up");

    const conns = await call(s.base, "GET", "/stats/connections?limit=5");
    assert.equal(conns.status, 200);
    assert.equal(conns.json.limit, 5);
    assert.equal(conns.json.count, 1);
    const c = conns.json.connections[0];
    assert.equal(c.listener, "svc");
    assert.equal(c.upstream, live);
    assert.equal(c.bytes_client_to_upstream, 5);
    assert.equal(c.bytes_upstream_to_client, 5);
    for (const key of ["client", "state", "age_seconds", "bytes_spliced", "bytes_copied"]) assert.ok(key in c, `connection has ${key}`);
    assert.equal((await call(s.base, "GET", "/stats/connections")).json.limit, 100);
    for (const bad of ["0", "x", "10001", "-1", "1.5"]) {
      const r = await call(s.base, "GET", `/stats/connections?limit=${bad}`);
      assert.equal(r.status, 400, `limit=${bad}`);
      assert.equal(r.json.error.code, "invalid_value");
      assert.equal(r.json.error.field, "limit");
      assert.match(r.json.error.message, /^limit: /);
    }

    const ups = (await call(s.base, "GET", "/upstreams")).json;
    assert.deepEqual(ups.upstreams.map((u: any) => u.id), [live, dead]);
    const u0 = ups.upstreams[0];
    assert.equal(u0.listener, "svc");
    assert.equal(u0.route, null, "a TCP listener's upstream has no route");
    assert.equal(u0.address, live.slice(4));
    assert.equal(u0.state, "up");
    assert.equal(u0.weight, 1);
    assert.equal(u0.connections_active, 1);
    assert.deepEqual((await call(s.base, "GET", `/upstreams/${enc(live)}`)).json.id, live);
    assert.deepEqual((await call(s.base, "GET", `/upstreams/${live}`)).json.id, live, "a raw slash works too");
    const unknown = await call(s.base, "GET", `/upstreams/${enc("svc/10.0.0.1:1")}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, "unknown_upstream");

    const routes = (await call(s.base, "GET", "/routes")).json;
    assert.deepEqual(routes, {
      routes: [{
        id: "svc", listener: "svc", mode: "tcp", listen: stats.listeners.svc.listen, match: null, target: "upstreams", upstreams: [live, dead],
      }],
    });

    const config = (await call(s.base, "GET", "/config")).json;
    assert.equal(config.path, null);
    assert.equal(config.generation, 1);
    assert.equal(config.config.admin.token, "[redacted]");
    assert.equal(config.config.listeners[0].name, "svc");
    assert.ok(!JSON.stringify(config).includes(TOKEN), "the token never appears in /config");

    const metrics = await call(s.base, "GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");

    const nope = await call(s.base, "GET", "/nope");
    assert.equal(nope.status, 404);
    assert.deepEqual(nope.json, { error: { code: "not_found", message: "no route for GET /nope" } });
    const wrongMethod = await call(s.base, "GET", "/reload");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "POST");

    client.socket.end();
    await client.closed;
  } finally {
    await teardown(s);
  }
});

test("admin: /ready answers 503 with reasons when a listener has no usable upstream", { timeout: 60_000 }, async () => {
  const s = await setup();
  try {
    for (const id of s.ids) assert.equal((await call(s.base, "POST", `/upstreams/${enc(id)}/disable`, { headers: AUTH })).status, 200);
    const ready = await call(s.base, "GET", "/ready");
    assert.equal(ready.status, 503);
    assert.equal(ready.json.ready, false);
    assert.equal(ready.json.reasons.length, 1);
    assert.match(ready.json.reasons[0], /listener svc: no usable upstream/);
    const metrics = parseMetrics((await call(s.base, "GET", "/metrics")).text);
    assert.equal(sample(metrics, "spliced_ready", {}), 0);
    await call(s.base, "POST", `/upstreams/${enc(s.ids[0])}/enable`, { headers: AUTH });
    assert.equal((await call(s.base, "GET", "/ready")).status, 200);
  } finally {
    await teardown(s);
  }
});

test("admin: control endpoints need the bearer token; reads on loopback do not; no CORS", { timeout: 60_000 }, async () => {
  const s = await setup();
  const path = `/upstreams/${enc(s.ids[0])}/drain`;
  try {
    const none = await call(s.base, "POST", path);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, "unauthorized");
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="spliced admin"');
    for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, "Bearer"]) {
      assert.equal((await call(s.base, "POST", path, { headers: { authorization: header } })).status, 401, header);
    }
    for (const [method, p] of [["PUT", `/upstreams/${enc(s.ids[0])}/weight`], ["POST", "/reload"], ["POST", "/shutdown"]]) {
      assert.equal((await call(s.base, method, p, { body: '{"weight":1}' })).status, 401, `${method} ${p}`);
    }
    assert.equal(s.proxy.stats().upstreams[s.ids[0]].state, "up", "refused requests change nothing");
    const ok = await call(s.base, "POST", path, { headers: { authorization: `bearer  ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.state, "draining");

    const read = await call(s.base, "GET", "/stats", { headers: { origin: "http://evil.example" } });
    assert.equal(read.status, 200);
    const preflight = await call(s.base, "OPTIONS", path, { headers: { origin: "http://evil.example", "access-control-request-method": "POST" } });
    for (const r of [read, preflight, ok]) {
      assert.equal(r.headers.get("access-control-allow-origin"), null, "no CORS header");
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    }
    // DNS rebinding: a page of another site resolving to 127.0.0.1 is refused.
    const port = Number(new URL(s.base).port);
    const rebound = await getWithHost(port, "/stats", "evil.example");
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /"code":"forbidden_host"/);
    assert.equal((await getWithHost(port, "/stats", "localhost:9090")).status, 200);
  } finally {
    await teardown(s);
  }
});

test("admin: without a configured token control endpoints answer 403", { timeout: 60_000 }, async () => {
  const s = await setup({});
  try {
    const r = await call(s.base, "POST", `/upstreams/${enc(s.ids[0])}/drain`, { headers: AUTH });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, "token_not_configured");
    assert.match(r.json.error.message, /--admin-token-file/);
    assert.equal((await call(s.base, "GET", "/upstreams")).status, 200);
  } finally {
    await teardown(s);
  }
});

test("admin: drain/disable/enable/weight show at once; bad input is a 400 naming the field", { timeout: 60_000 }, async () => {
  const s = await setup();
  const [id] = s.ids;
  const up = (action: string) => call(s.base, "POST", `/upstreams/${enc(id)}/${action}`, { headers: AUTH });
  const weight = (body: string, headers: Record<string, string> = AUTH) =>
    call(s.base, "PUT", `/upstreams/${enc(id)}/weight`, { body, headers: { "content-type": "application/json", ...headers } });
  try {
    for (const [action, state] of [["drain", "draining"], ["disable", "disabled"], ["enable", "up"]]) {
      const r = await up(action);
      assert.equal(r.status, 200);
      assert.equal(r.json.id, id);
      assert.equal(r.json.state, state);
      assert.equal((await call(s.base, "GET", "/stats")).json.upstreams[id].state, state);
      assert.equal((await call(s.base, "GET", "/upstreams")).json.upstreams[0].state, state);
    }
    const w = await weight('{"weight": 7}');
    assert.equal(w.status, 200);
    assert.equal(w.json.weight, 7);
    assert.equal(s.proxy.stats().upstreams[id].weight, 7);
    assert.equal((await weight('{"weight": 0}')).json.weight, 0);
    assert.equal((await weight('{"weight": 1000}')).json.weight, 1000);

    for (const [body, field] of [
      ['{"weight": 1001}', "weight"], ['{"weight": -1}', "weight"], ['{"weight": 1.5}', "weight"],
      ['{"weight": "3"}', "weight"], ["{}", "weight"], ['{"weight": 1, "colour": "red"}', "colour"],
    ]) {
      const r = await weight(body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.error.code, "invalid_value", body);
      assert.equal(r.json.error.field, field, body);
      assert.ok(r.json.error.message.startsWith(`${field}: `), r.json.error.message);
    }
    for (const body of ["{weight: 1}", "", "[1]", "null", "3"]) {
      const r = await weight(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, "invalid_json", JSON.stringify(body));
    }
    const big = await weight(JSON.stringify({ weight: 1, pad: "x".repeat(70 * 1024) }));
    assert.equal(big.status, 413);
    assert.equal(big.json.error.code, "body_too_large");
    assert.equal(s.proxy.stats().upstreams[id].weight, 1000, "rejected bodies change nothing");

    for (const action of ["drain", "enable", "disable"]) {
      const r = await call(s.base, "POST", `/upstreams/${enc("svc/10.9.9.9:1")}/${action}`, { headers: AUTH });
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, "unknown_upstream");
    }
    assert.equal((await call(s.base, "PUT", `/upstreams/${enc("nope/1.2.3.4:5")}/weight`, { body: '{"weight":1}', headers: AUTH })).status, 404);
  } finally {
    await teardown(s);
  }
});

test("admin: /metrics parses back, agrees with /stats and histograms, passes promtool", { timeout: 60_000 }, async () => {
  const s = await setup();
  try {
    const clients = await Promise.all([0, 1, 2].map(() => connect(s.proxy.address("svc").port)));
    for (const c of clients) c.socket.end("0123456789");
    await Promise.all(clients.map((c) => c.closed));
    await eventually(() => s.proxy.stats().totals.connections_active === 0);
    await call(s.base, "PUT", `/upstreams/${enc(s.ids[1])}/weight`, { body: '{"weight":5}', headers: AUTH });
    await call(s.base, "POST", `/upstreams/${enc(s.ids[1])}/drain`, { headers: AUTH });

    const text = (await call(s.base, "GET", "/metrics")).text;
    const m = parseMetrics(text); // throws on any line out of format
    const stats = s.proxy.stats();
    const [live, dead] = s.ids;
    assert.equal(sample(m, "spliced_listener_connections_total", { listener: "svc" }), stats.listeners.svc.connections_total);
    assert.equal(sample(m, "spliced_listener_bytes_client_to_upstream_total", { listener: "svc" }), 30);
    assert.equal(sample(m, "spliced_listener_bytes_upstream_to_client_total", { listener: "svc" }), 30);
    assert.equal(sample(m, "spliced_upstream_bytes_client_to_upstream_total", { listener: "svc", upstream: live }), 30);
    assert.equal(sample(m, "spliced_upstream_connections_active", { listener: "svc", upstream: live }), 0);
    assert.equal(sample(m, "spliced_upstream_weight", { listener: "svc", upstream: dead }), 5);
    assert.equal(sample(m, "spliced_upstream_state", { listener: "svc", upstream: dead, state: "draining" }), 1);
    assert.equal(sample(m, "spliced_upstream_state", { listener: "svc", upstream: dead, state: "up" }), 0);
    assert.equal(sample(m, "spliced_info", { version: "0.1.0", runtime: stats.runtime }), 1);
    assert.equal(sample(m, "spliced_listener_responses_total", { listener: "svc", code: "2xx" }), undefined, "no HTTP series for TCP");
    assert.equal(m.types.get("spliced_listener_http_request_seconds"), undefined, "no HTTP histogram for TCP");
    const pipes = [0, 1].map((w) => sample(m, "spliced_worker_pipes_open", { worker: String(w) }));
    assert.ok(pipes.every((p) => typeof p === "number"));
    assert.equal(m.types.get("spliced_listener_connections_total"), "counter");
    assert.equal(m.types.get("spliced_listener_connections_active"), "gauge");
    assert.equal(m.types.get("spliced_upstream_connect_seconds"), "histogram");
    for (const [name, type] of m.types) {
      if (type === "counter") assert.ok(name.endsWith("_total"), `${name} is a counter ending in _total`);
      assert.ok(m.help.has(name), `${name} has HELP`);
    }

    // Histograms: cumulative buckets, +Inf equals _count, matching proxy.histograms().
    const h = s.proxy.histograms().listeners.svc.connection_duration_seconds;
    const family = "spliced_listener_connection_duration_seconds";
    const buckets = m.samples.filter((x) => x.name === `${family}_bucket` && x.labels.listener === "svc");
    assert.equal(buckets.length, h.buckets.length + 1);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, "cumulative");
    assert.equal(buckets.at(-1)!.labels.le, "+Inf");
    assert.equal(buckets.at(-1)!.value, 3);
    assert.equal(sample(m, `${family}_count`, { listener: "svc" }), 3);
    assert.equal(sample(m, `${family}_sum`, { listener: "svc" }), h.sum);
    assert.equal(sample(m, "spliced_upstream_connect_seconds_count", { listener: "svc", upstream: live }), 3);

    const promtool = promtoolCheck(text);
    if (promtool === undefined) console.log("promtool not installed: skipping `promtool check metrics`");
    else assert.equal(promtool.code, 0, `promtool check metrics:\n${promtool.output}`);
  } finally {
    await teardown(s);
  }
});

/** Reads SSE events from a response body until `n` arrived. */
async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<{ event: string; data: any }[]> {
  const decoder = new TextDecoder();
  const events: { event: string; data: any }[] = [];
  let buffer = "";
  while (events.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  return events;
}

test("admin: /events streams a stats snapshot a second; the stream ends when the client goes away", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ name: "l", listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  const admin = createAdmin(proxy, { token: TOKEN, readsNeedToken: false });
  try {
    const res = await admin.app.request("/events");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-cache, no-store");
    const reader = res.body!.getReader();
    const started = Date.now();
    const events = await readEvents(reader, 3);
    assert.equal(events.length, 3);
    assert.ok(Date.now() - started >= 1500, "one a second (the first at once)");
    for (const e of events) {
      assert.equal(e.event, "stats");
      assert.equal(typeof e.data.time, "number");
      assert.ok("totals" in e.data && "upstreams" in e.data && "listeners" in e.data);
    }
    assert.ok(events[2].data.time > events[0].data.time);
    assert.equal(admin.openStreams(), 1);
    await reader.cancel();
    assert.equal(admin.openStreams(), 0, "cancelled by the client: the stream is gone");


    // Through a real HTTP server: a client that disconnects ends its stream.
    const served = await serve((req) => admin.app.fetch(req), { host: "127.0.0.1", port: 0 });
    try {
      const sock = net.connect(served.address.port, "127.0.0.1", () => sock.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
      sock.on("error", () => {});
      await new Promise((resolve) => sock.once("data", resolve));
      assert.equal(admin.openStreams(), 1);
      sock.destroy();
      assert.ok(await eventually(() => admin.openStreams() === 0, 5000), "client gone: the stream is gone");
    } finally {
      admin.closeStreams();
      await served.close();
    }
  } finally {
    admin.closeStreams();
    await proxy.close(0);
  }
});

test("admin: open /events streams end when the admin server closes, and do not hold it open", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({
    workers: 1, admin: { listen: "127.0.0.1:0" }, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }],
  });
  const res = await fetch(`http://127.0.0.1:${proxy.adminAddress()!.port}/events`);
  const reader = res.body!.getReader();
  assert.equal((await readEvents(reader, 1)).length, 1);
  const started = Date.now();
  await proxy.close(0);
  assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
  const ended = await Promise.race([
    (async () => {
      try {
        while (!(await reader.read()).done);
      } catch {
        // a reset ends it too
      }
      return true;
    })(),
    sleep(5000).then(() => false),
  ]);
  assert.ok(ended, "the client sees the stream end");
});

test("admin: adminApp mounts in a user's Hono app, dashboard and all", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ name: "db", listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  try {
    const app = new Hono();
    app.get("/", (c) => c.text("my app"));
    app.route("/proxy", adminApp(proxy, { token: TOKEN }));
    assert.equal(await (await app.request("/")).text(), "my app");
    const page = await app.request("/proxy");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<base href="\/proxy\/">/);
    for (const asset of html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)) {
      const r = await app.request(`/proxy/${asset[1]}`);
      assert.equal(r.status, 200, asset[1]);
      assert.match(r.headers.get("content-type")!, /^text\/(javascript|css)/);
    }
    assert.ok((await (await app.request("/proxy/assets/uPlot.iife.min.js")).text()).length > 10_000, "uPlot from node_modules");
    assert.equal((await app.request("/proxy/assets/..%2Fapp.ts")).status, 404);
    const stats = await (await app.request("/proxy/stats", { headers: AUTH })).json();
    assert.ok("db" in stats.listeners);
    const id = enc("db/127.0.0.1:1");
    assert.equal((await app.request(`/proxy/upstreams/${id}/drain`, { method: "POST" })).status, 401);
    const drained = await app.request(`/proxy/upstreams/${id}/drain`, { method: "POST", headers: AUTH });
    assert.equal(drained.status, 200);
    assert.equal((await drained.json()).state, "draining");
    assert.equal((await app.request("/proxy/nope")).status, 404);
  } finally {
    await proxy.close(0);
  }
});

test("admin: off loopback every endpoint needs the token, and no token means no start", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  try {
    const app = adminApp(proxy, { token: TOKEN, readsNeedToken: true });
    for (const path of ["/stats", "/metrics", "/events", "/healthz", "/ready", "/upstreams", "/routes", "/config", "/stats/connections"]) {
      const r = await app.request(path);
      assert.equal(r.status, 401, path);
    }
    assert.equal((await app.request("/stats", { headers: AUTH })).status, 200);
    assert.equal((await app.request("/")).status, 200, "the dashboard page itself holds no data");
    assert.throws(() => adminApp(proxy, { token: "short" }), RangeError);
  } finally {
    await proxy.close(0);
  }
  await assert.rejects(() => serveAdminFor({ listen: "0.0.0.0:0" }, { env: {} }), (err: unknown) =>
    err instanceof ConfigError && /admin\.listen: 0\.0\.0\.0:0 is not a loopback address: the admin API needs a token/.test(err.message));

  // The same through startProxy: it refuses to start an unprotected admin API.
  const saved = process.env.SPLICED_ADMIN_TOKEN;
  delete process.env.SPLICED_ADMIN_TOKEN;
  try {
    await assert.rejects(
      () => startProxy({ workers: 1, admin: { listen: "0.0.0.0:0" }, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] }),
      (err: unknown) => err instanceof ConfigError && /not a loopback address/.test(err.message),
    );
  } finally {
    if (saved !== undefined) process.env.SPLICED_ADMIN_TOKEN = saved;
  }
});

test("admin: token sources (tokenFile, token, environment) and their errors", () => {
  const file = join(dir, "token");
  writeFileSync(file, `${TOKEN}-file\nsecond line ignored\n`);
  assert.equal(resolveAdminToken({ tokenFile: file, token: TOKEN }, { env: {} }), `${TOKEN}-file`);
  assert.equal(resolveAdminToken({ token: TOKEN }, { env: { SPLICED_ADMIN_TOKEN: "env-token-0123456789" } }), TOKEN);
  assert.equal(resolveAdminToken({}, { env: { SPLICED_ADMIN_TOKEN: " env-token-0123456789 " } }), "env-token-0123456789");
  assert.equal(resolveAdminToken(undefined, { env: {} }), undefined);
  assert.throws(() => resolveAdminToken({ tokenFile: join(dir, "missing") }, { env: {}, source: "x.json" }), (err: unknown) =>
    err instanceof ConfigError && /^x\.json: admin\.tokenFile: cannot read token file ".*missing": file not found$/.test(err.message));
  const short = join(dir, "short");
  writeFileSync(short, "abc\n");
  assert.throws(() => resolveAdminToken({ tokenFile: short }, { env: {}, tokenFileField: "--admin-token-file", source: "command line" }),
    (err: unknown) => err instanceof ConfigError && /^command line: --admin-token-file: admin token too short/.test(err.message));
  assert.throws(() => resolveAdminToken({}, { env: { SPLICED_ADMIN_TOKEN: "short" } }), /SPLICED_ADMIN_TOKEN: admin token too short/);

  const check = tokenChecker(TOKEN);
  assert.equal(check(`Bearer ${TOKEN}`), true);
  assert.equal(check(`bearer ${TOKEN}`), true);
  assert.equal(check(undefined), false);
  assert.equal(check(`Bearer ${TOKEN} extra`), false);
  assert.equal(check(`Token ${TOKEN}`), false);

  for (const ip of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) assert.ok(isLoopback(ip), ip);
  for (const ip of ["0.0.0.0", "10.0.0.1", "::", "::2", "fe80::1", "128.0.0.1"]) assert.ok(!isLoopback(ip), ip);
  for (const h of ["localhost", "localhost:9090", "127.0.0.1:1", "[::1]:8080", "LOCALHOST", undefined]) assert.ok(isLoopbackHostHeader(h), String(h));
  for (const h of ["evil.example", "localhost.evil.example", "10.0.0.1:9090", "[fe80::1]:1"]) assert.ok(!isLoopbackHostHeader(h), h);
});

test("admin: POST /reload without a config file is 409; POST /shutdown answers 202 and closes the proxy", { timeout: 60_000 }, async () => {
  const s = await setup();
  try {
    const reload = await call(s.base, "POST", "/reload", { headers: AUTH });
    assert.equal(reload.status, 409);
    assert.equal(reload.json.error.code, "no_config_file");
    const shutdown = await call(s.base, "POST", "/shutdown", { headers: AUTH });
    assert.equal(shutdown.status, 202);
    assert.deepEqual(shutdown.json, { status: "shutting_down", grace_period_seconds: 30 });
    const closed = await Promise.race([s.proxy.closed.then(() => true), sleep(10_000).then(() => false)]);
    assert.ok(closed, "the proxy closed after /shutdown");
  } finally {
    await teardown(s);
  }
});

test("admin: HTTP listeners show their routes in /routes, /upstreams and /metrics", { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), "spliced-admin-site-"));
  writeFileSync(join(root, "index.html"), "<h1>hi</h1>\n");
  const proxy = await startProxy({
    workers: 1,
    admin: { listen: "127.0.0.1:0" },
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0",
      routes: [
        { name: "api", host: "api.example", path: "/v1/", upstreams: ["127.0.0.1:1"] },
        { name: "site", path: "/", static: { root } },
      ],
    }],
  });
  const base = `http://127.0.0.1:${proxy.adminAddress()!.port}`;
  try {
    const page = await fetch(`http://127.0.0.1:${proxy.address("web").port}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), "<h1>hi</h1>\n");
    const listen = proxy.stats().listeners.web.listen;
    assert.deepEqual((await call(base, "GET", "/routes")).json.routes, [
      { id: "web/api", listener: "web", mode: "http", listen, match: { host: "api.example", path: "/v1/" }, target: "upstreams", upstreams: ["web/api/127.0.0.1:1"] },
      { id: "web/site", listener: "web", mode: "http", listen, match: { host: null, path: "/" }, target: `static:${root}`, upstreams: [] },
    ]);
    const [u] = (await call(base, "GET", "/upstreams")).json.upstreams;
    assert.equal(u.id, "web/api/127.0.0.1:1");
    assert.equal(u.route, "web/api");
    assert.equal(u.listener, "web");
    assert.equal((await call(base, "GET", `/upstreams/${enc(u.id)}`)).json.route, "web/api");
    assert.ok(await eventually(() => proxy.stats().routes["web/site"].requests_total === 1));
    const text = (await call(base, "GET", "/metrics")).text;
    const m = parseMetrics(text);
    assert.equal(sample(m, "spliced_route_requests_total", { listener: "web", route: "site" }), 1);
    assert.equal(sample(m, "spliced_route_responses_total", { listener: "web", route: "site", code: "2xx" }), 1);
    assert.equal(sample(m, "spliced_route_requests_total", { listener: "web", route: "api" }), 0);
    assert.equal(sample(m, "spliced_upstream_connections_total", { listener: "web", upstream: "web/api/127.0.0.1:1" }), 0);
    assert.equal(m.types.get("spliced_route_http_request_seconds"), "histogram");
    const promtool = promtoolCheck(text);
    if (promtool !== undefined) assert.equal(promtool.code, 0, promtool.output);
  } finally {
    await proxy.close(0);
  }
});

test("admin: metric names, label escaping and values follow the exposition format", () => {
  assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.deepEqual([NaN, Infinity, -Infinity, 0.5, 3].map(formatValue), ["NaN", "+Inf", "-Inf", "0.5", "3"]);
  assert.equal(counterFamily("listener", "bytes_spliced"), "spliced_listener_bytes_spliced_total");
  assert.equal(counterFamily("route", "requests_total"), "spliced_route_requests_total");
  assert.equal(counterFamily("upstream", "responses_5xx"), "spliced_upstream_responses_total");
  assert.equal(counterFamily("worker", "pipes_open"), "spliced_worker_pipes_open");
  assert.equal(histogramFamily("upstream", "upstream_connect_seconds"), "spliced_upstream_connect_seconds");
  assert.equal(histogramFamily("listener", "upstream_connect_seconds"), "spliced_listener_upstream_connect_seconds");
});
