/**
 * Upstream health: the pure parts (expect ranges, rise/fall, jitter, status
 * line, settings, config errors), then real proxies on 127.0.0.1 with real
 * upstreams that the tests stop and start: active TCP and HTTP checks,
 * passive marking by traffic and its cooldown, /ready, /upstreams, /metrics,
 * reloads, the CLI's log line, and no client sent to a down upstream.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { ConfigError, startProxy, type Proxy } from "../src/mod.ts";
import { validateConfig } from "../src/config.ts";
import { HEALTH_DOWN, HEALTH_UNCHECKED, HEALTH_UP } from "../src/balance/balancer.ts";
import { parseExpect, statusMatches } from "../src/health/expect.ts";
import { checkRequest, parseStatusLine, probe } from "../src/health/probe.ts";
import { firstDelay, nextDelay } from "../src/health/schedule.ts";
import { settingsOf } from "../src/health/settings.ts";
import { applyResult } from "../src/health/verdict.ts";
import { healthLine } from "../src/health/log.ts";
import { deadPort } from "./helpers/peers.ts";
import { eventually, startSpliced } from "./helpers/spliced.ts";
import { parseMetrics, promtoolCheck, sample } from "./helpers/metrics.ts";

// ---- pure parts ----

test("health: expect ranges, lists and errors", () => {
  const r = parseExpect("200-299, 302");
  assert.deepEqual(r, [{ from: 200, to: 299 }, { from: 302, to: 302 }]);
  assert.equal(statusMatches(r, 204), true);
  assert.equal(statusMatches(r, 302), true);
  assert.equal(statusMatches(r, 301), false);
  assert.throws(() => parseExpect("2xx"), SyntaxError);
  assert.throws(() => parseExpect("399-200"), RangeError);
  assert.throws(() => parseExpect("600"), SyntaxError);
});

test("health: rise and fall", () => {
  let t = { health: HEALTH_UNCHECKED, successes: 0, failures: 0 };
  t = applyResult(t, true, 2, 3);
  assert.equal(t.health, HEALTH_UNCHECKED, "one success is not rise 2");
  t = applyResult(t, true, 2, 3);
  assert.equal(t.health, HEALTH_UP);
  t = applyResult(applyResult(t, false, 2, 3), false, 2, 3);
  assert.equal(t.health, HEALTH_UP, "two failures are not fall 3");
  t = applyResult(t, true, 2, 3);
  assert.equal(t.failures, 0, "a success starts the failures over");
  for (let i = 0; i < 3; i++) t = applyResult(t, false, 2, 3);
  assert.equal(t.health, HEALTH_DOWN);
  assert.equal(t.failures, 3);
  assert.equal(applyResult(t, true, 2, 3).health, HEALTH_DOWN);
  assert.equal(applyResult({ health: HEALTH_UNCHECKED, successes: 0, failures: 0 }, false, 2, 1).health, HEALTH_DOWN);
});

test("health: jitter stays inside the interval", () => {
  assert.equal(firstDelay(1000, () => 0), 0);
  assert.equal(firstDelay(1000, () => 0.999), 999);
  assert.equal(nextDelay(1000, () => 0), 900);
  assert.equal(nextDelay(1000, () => 0.999), 1100);
});

test("health: status line and check request", () => {
  assert.equal(parseStatusLine("HTTP/1.1 204 No Content\r\n"), 204);
  assert.equal(parseStatusLine("HTTP/1.0 200\r\n"), 200);
  assert.equal(parseStatusLine("HTTP/1.1 20"), -1);
  assert.throws(() => parseStatusLine("SSH-2.0-OpenSSH\r\n"), SyntaxError);
  const req = checkRequest({ method: "HEAD", path: "/healthz", host: undefined, expect: [] }, "10.0.0.1:80");
  assert.equal(req, "HEAD /healthz HTTP/1.1\r\nHost: 10.0.0.1:80\r\nUser-Agent: spliced-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  const line = JSON.parse(healthLine({ upstream: "a/b:1", from: "up", to: "down", reason: "x" }, new Date(0)));
  assert.deepEqual(line, { event: "health", time: "1970-01-01T00:00:00.000Z", upstream: "a/b:1", from: "up", to: "down", reason: "x" });
});

test("health: settings and defaults; passive-only blocks", () => {
  const none = settingsOf(undefined);
  assert.equal(none.active, false);
  assert.equal(none.fall, 3);
  assert.equal(none.cooldownMs, 10_000);
  const cfg = validateConfig({ listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], healthCheck: { interval: "2s" } }] }, "t");
  const l = cfg.listeners[0] as { healthCheck?: Parameters<typeof settingsOf>[0] };
  const s = settingsOf(l.healthCheck);
  assert.deepEqual([s.active, s.intervalMs, s.timeoutMs, s.rise, s.fall, s.http], [true, 2000, 1000, 2, 3, undefined]);
  assert.equal(settingsOf({ fall: 2, cooldown: 500 }).active, false, "only passive keys: no active check");
  const h = settingsOf({ http: { method: "GET", path: "/", expect: "200" } });
  assert.equal(h.active, true);
  assert.deepEqual(h.http?.expect, [{ from: 200, to: 200 }]);
});

test("health: config errors name the field path", () => {
  const issues = (healthCheck: unknown, route = false) => {
    const l = route
      ? { mode: "http", listen: "127.0.0.1:0", routes: [{ upstreams: ["127.0.0.1:1"], healthCheck }] }
      : { listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], healthCheck };
    try {
      validateConfig({ listeners: [l] }, "f.json");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail("expected a ConfigError");
  };
  assert.match(issues({ intervl: "2s" }), /listeners\[0\]\.healthCheck: unknown key "intervl"; did you mean "interval"\?/);
  assert.match(issues({ http: { expect: "2xx" } }), /listeners\[0\]\.healthCheck\.http\.expect: expected statuses like "200-399"/);
  assert.match(issues({ rise: 0 }), /listeners\[0\]\.healthCheck\.rise: must be at least 1/);
  assert.match(issues({ interval: true }), /listeners\[0\]\.healthCheck\.interval: expected a duration/);
  assert.match(issues({ http: { paht: "/" } }, true), /listeners\[0\]\.routes\[0\]\.healthCheck\.http: unknown key "paht"; did you mean "path"\?/);
  assert.match(issues({ http: { path: "healthz" } }, true), /routes\[0\]\.healthCheck\.http\.path: must start with \//);
});

// ---- helpers for the end-to-end tests ----

/** A TCP upstream on a fixed port that can be stopped and started again; counts accepted connections. */
class Switchable {
  accepted = 0;
  #server: net.Server | undefined;
  #sockets = new Set<net.Socket>();
  private constructor(public port: number) {}

  static async start(): Promise<Switchable> {
    const s = new Switchable(0);
    await s.up();
    return s;
  }

  up(): Promise<void> {
    const server = net.createServer((sock) => {
      this.accepted++;
      this.#sockets.add(sock);
      sock.on("close", () => this.#sockets.delete(sock));
      sock.on("error", () => {});
      sock.on("data", (d) => sock.write(d));
      sock.on("end", () => sock.end());
    });
    this.#server = server;
    return new Promise((resolve) => server.listen(this.port, "127.0.0.1", () => {
      this.port = (server.address() as net.AddressInfo).port;
      resolve();
    }));
  }

  down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

/** An HTTP upstream whose /healthz answers `healthStatus`; records requests. */
async function httpBackend(name: string) {
  const seen = { health: [] as http.IncomingHttpHeaders[], traffic: 0, healthStatus: 204, trafficStatus: 200 };
  const server = http.createServer((req, res) => {
    if (req.url === "/healthz") {
      seen.health.push(req.headers);
      res.writeHead(seen.healthStatus).end();
    } else {
      seen.traffic++;
      res.writeHead(seen.trafficStatus, { "content-type": "text/plain" }).end(name);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { seen, port, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

async function getJson(proxy: Proxy, path: string): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`http://127.0.0.1:${proxy.adminAddress()!.port}${path}`, { headers: { connection: "close" } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function upstream(proxy: Proxy, id: string): Promise<any> {
  return (await getJson(proxy, `/upstreams/${encodeURIComponent(id)}`)).json;
}

async function healthIs(proxy: Proxy, id: string, health: string): Promise<boolean> {
  return (await upstream(proxy, id))?.health === health;
}

/** One TCP round trip through the proxy: true when the echo came back. */
function roundTrip(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.end("ping"));
    let got = "";
    sock.on("data", (d) => (got += d));
    sock.on("error", () => resolve(false));
    sock.on("close", () => resolve(got === "ping"));
  });
}

/** One HTTP GET through the proxy: the status and body. */
async function get(port: number, path = "/"): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: "close" } });
  return { status: res.status, body: await res.text() };
}

// ---- end to end ----

test("health: active TCP checks mark a stopped upstream down and a restarted one up; /ready and metrics follow", { timeout: 90_000 }, async () => {
  const a = await Switchable.start();
  const proxy = await startProxy({
    workers: 2, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "db", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`], healthCheck: { interval: "200ms", timeout: "500ms", rise: 2, fall: 2 } }],
  });
  const id = `db/127.0.0.1:${a.port}`;
  try {
    assert.ok(await eventually(() => healthIs(proxy, id, "up"), 20_000), "up after rise checks");
    assert.ok(a.accepted >= 2, "the checks connected to the upstream");
    let ready = await getJson(proxy, "/ready");
    assert.equal(ready.status, 200);

    await a.down();
    assert.ok(await eventually(() => healthIs(proxy, id, "down"), 20_000), "down after fall failed checks");
    const u = await upstream(proxy, id);
    assert.match(u.last_error, /ECONNREFUSED/);
    assert.ok(u.consecutive_failures >= 2);
    assert.equal(u.state, "up", "admin state stays separate from health");
    assert.ok(!Number.isNaN(Date.parse(u.last_check)));
    ready = await getJson(proxy, "/ready");
    assert.equal(ready.status, 503);
    assert.match(ready.json.reasons[0], new RegExp(`listener db: no usable upstream in db: ${id} down \\(connect: ECONNREFUSED\\)`));
    let m = parseMetrics((await getJson(proxy, "/metrics")).text);
    assert.equal(sample(m, "spliced_ready", {}), 0);
    assert.equal(sample(m, "spliced_upstream_healthy", { listener: "db", upstream: id }), 0);
    assert.ok((sample(m, "spliced_health_check_duration_seconds_count", { listener: "db", upstream: id }) ?? 0) >= 4);

    await a.up();
    assert.ok(await eventually(() => healthIs(proxy, id, "up"), 20_000), "up again after rise checks");
    assert.equal((await upstream(proxy, id)).last_error, null);
    ready = await getJson(proxy, "/ready");
    assert.equal(ready.status, 200);
    const text = (await getJson(proxy, "/metrics")).text;
    m = parseMetrics(text);
    assert.equal(sample(m, "spliced_ready", {}), 1);
    assert.equal(sample(m, "spliced_upstream_healthy", { listener: "db", upstream: id }), 1);
    const promtool = promtoolCheck(text);
    if (promtool) assert.equal(promtool.code, 0, promtool.output);
    assert.ok(await roundTrip(proxy.address("db").port));
  } finally {
    await proxy.close(0);
    await a.down();
  }
  // Closing the proxy stopped its checks: nothing connects any more (no effect to wait for; five intervals).
  await a.up();
  const before = a.accepted;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(a.accepted, before, "no check after close");
  await a.down();
});

test("health: HTTP check with expect range and Host header; no request is sent to a down upstream", { timeout: 90_000 }, async () => {
  const a = await httpBackend("a"), b = await httpBackend("b");
  const healthCheck = { interval: "200ms", timeout: "1s", rise: 1, fall: 2, http: { path: "/healthz", host: "svc.local", expect: "200-299" } };
  const proxy = await startProxy({
    workers: 2, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", routes: [{ name: "api", upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], healthCheck }] }],
  });
  const ida = `web/api/127.0.0.1:${a.port}`, idb = `web/api/127.0.0.1:${b.port}`;
  const port = proxy.address("web").port;
  try {
    assert.ok(await eventually(async () => (await healthIs(proxy, ida, "up")) && (await healthIs(proxy, idb, "up")), 20_000));
    assert.equal(a.seen.health[0].host, "svc.local", "the check's Host header");
    assert.equal(a.seen.health[0]["user-agent"], "spliced-health-check");

    a.seen.healthStatus = 302; // outside 200-299 (inside the default 200-399)
    assert.ok(await eventually(() => healthIs(proxy, ida, "down"), 20_000));
    assert.equal((await upstream(proxy, ida)).last_error, "HTTP status 302");
    const before = a.seen.traffic;
    for (let i = 0; i < 20; i++) assert.deepEqual(await get(port), { status: 200, body: "b" });
    assert.equal(a.seen.traffic, before, "no request reached the down upstream");

    a.seen.healthStatus = 200;
    assert.ok(await eventually(() => healthIs(proxy, ida, "up"), 20_000));
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) bodies.add((await get(port)).body);
    assert.deepEqual([...bodies].sort(), ["a", "b"], "both get traffic again");

    a.seen.healthStatus = 503;
    b.seen.healthStatus = 503;
    assert.ok(await eventually(async () => (await getJson(proxy, "/ready")).status === 503, 20_000));
    const ready = await getJson(proxy, "/ready");
    assert.match(ready.json.reasons.join("\n"), /listener web: no usable upstream in web\/api: .*HTTP status 503/);
    assert.equal((await get(port)).status, 503, "no upstream available");
  } finally {
    await proxy.close(0);
    await a.close();
    await b.close();
  }
});

test("health: passive marking without active checks stops retrying a dead upstream; cooldown brings it back", { timeout: 90_000 }, async () => {
  const live = await Switchable.start();
  const dead = await deadPort();
  const proxy = await startProxy({
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${dead}`, `127.0.0.1:${live.port}`], healthCheck: { fall: 2, cooldown: "1500ms" } }],
  });
  const idDead = `svc/127.0.0.1:${dead}`;
  const port = proxy.address("svc").port;
  try {
    const failures = async () => (await upstream(proxy, idDead)).connect_failures as number;
    let clients = 0;
    // Round robin sends every other new connection to the dead one first, until fall (2) failures mark it down.
    while ((await failures()) < 2 && clients < 20) {
      assert.ok(await roundTrip(port), "the live upstream answers");
      clients++;
    }
    assert.equal(await failures(), 2, "two failures by traffic mark it down");
    const u = await upstream(proxy, idDead);
    assert.equal(u.health, "down");
    assert.equal(u.last_check, null, "no active check ran");
    assert.match(u.last_error, /2 connect failures or resets in a row from traffic/);
    for (let i = 0; i < 6; i++) assert.ok(await roundTrip(port));
    assert.equal(await failures(), 2, "new connections do not try the dead upstream first");
    assert.equal(live.accepted, clients + 6, "each client reached the live upstream, which got no check");

    assert.ok(await eventually(() => healthIs(proxy, idDead, "unchecked"), 20_000), "cooldown over");
    assert.equal((await upstream(proxy, idDead)).consecutive_failures, 0);
    for (let i = 0; i < 20 && (await failures()) < 4; i++) assert.ok(await roundTrip(port));
    assert.equal(await failures(), 4, "tried again after the cooldown, marked down again");
    assert.equal((await upstream(proxy, idDead)).health, "down");
  } finally {
    await proxy.close(0);
    await live.down();
  }
});

test("health: passive5xx marks an upstream answering 5xx down", { timeout: 90_000 }, async () => {
  const a = await httpBackend("a"), b = await httpBackend("b");
  a.seen.trafficStatus = 500;
  const proxy = await startProxy({
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0",
      routes: [{ name: "r", upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], healthCheck: { fall: 2, passive5xx: true, cooldown: "1h" } }],
    }],
  });
  const port = proxy.address("web").port;
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(port)).status);
    assert.equal(statuses.filter((s) => s === 500).length, 2, `two 5xx, then only b: ${statuses}`);
    assert.equal((await upstream(proxy, `web/r/127.0.0.1:${a.port}`)).health, "down");
    assert.equal(a.seen.traffic, 2);
  } finally {
    await proxy.close(0);
    await a.close();
    await b.close();
  }
});

test("health: a reload keeps the health of upstreams it keeps and checks the new ones", { timeout: 90_000 }, async () => {
  const a = await Switchable.start(), c = await Switchable.start();
  const dead = await deadPort();
  const healthCheck = { interval: "300ms", timeout: "500ms", rise: 2, fall: 2 };
  const config = (ups: string[]) => ({
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: ups, healthCheck }],
  });
  const proxy = await startProxy(config([`127.0.0.1:${a.port}`, `127.0.0.1:${dead}`]));
  const ida = `svc/127.0.0.1:${a.port}`, idDead = `svc/127.0.0.1:${dead}`, idc = `svc/127.0.0.1:${c.port}`;
  try {
    assert.ok(await eventually(async () => (await healthIs(proxy, ida, "up")) && (await healthIs(proxy, idDead, "down")), 20_000));
    const failuresBefore = (await upstream(proxy, idDead)).consecutive_failures;
    const admin = proxy.adminAddress()!;
    await proxy.reload({ ...config([`127.0.0.1:${a.port}`, `127.0.0.1:${dead}`, `127.0.0.1:${c.port}`]), admin: { listen: `127.0.0.1:${admin.port}` } });
    const [ua, ud, uc] = await Promise.all([upstream(proxy, ida), upstream(proxy, idDead), upstream(proxy, idc)]);
    assert.equal(ua.health, "up", "kept up across the reload");
    assert.equal(ud.health, "down", "kept down across the reload");
    assert.ok(ud.consecutive_failures >= failuresBefore);
    assert.equal(uc.health, "unchecked", "a new upstream starts unchecked");
    assert.ok(await eventually(() => healthIs(proxy, idc, "up"), 20_000), "the new upstream is checked");
    assert.equal((await getJson(proxy, "/ready")).status, 200);
  } finally {
    await proxy.close(0);
    await a.down();
    await c.down();
  }
});

test("health: spliced tcp --to a dead port: /ready 503 once traffic found it down, one JSON log line, no retry first", { timeout: 90_000 }, async () => {
  const dead = await deadPort();
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${dead}`, "--workers", "2"]);
  const base = `http://127.0.0.1:${proxy.adminPort}`;
  try {
    // Without a healthCheck block nothing connects on its own: ready until traffic says otherwise (documented).
    assert.equal((await fetch(`${base}/ready`, { headers: { connection: "close" } })).status, 200);
    for (let i = 0; i < 6; i++) assert.equal(await roundTrip(proxy.port), false);
    const ready = await fetch(`${base}/ready`, { headers: { connection: "close" } });
    assert.equal(ready.status, 503);
    const body = await ready.json();
    assert.match(body.reasons[0], new RegExp(`listener tcp: no usable upstream in tcp: tcp/127.0.0.1:${dead} down`));
    const m = parseMetrics(await (await fetch(`${base}/metrics`, { headers: { connection: "close" } })).text());
    assert.equal(sample(m, "spliced_ready", {}), 0);
    assert.equal(sample(m, "spliced_upstream_healthy", { listener: "tcp", upstream: `tcp/127.0.0.1:${dead}` }), 0);
    assert.equal(sample(m, "spliced_upstream_connect_failures_total", { listener: "tcp", upstream: `tcp/127.0.0.1:${dead}` }), 3,
      "3 failures (fall) and then no connect tried for the other 3 clients");
    assert.ok(await eventually(() => /"event":"health"/.test(proxy.output()), 10_000));
    const lines = proxy.output().split("\n").filter((l) => l.includes('"event":"health"')).map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.deepEqual({ ...lines[0], time: undefined, reason: undefined }, {
      event: "health", time: undefined, upstream: `tcp/127.0.0.1:${dead}`, from: "unchecked", to: "down", reason: undefined,
    });
  } finally {
    await proxy.stop();
  }
});

test("health: probe reports refusals, timeouts and non-HTTP answers", { timeout: 30_000 }, async () => {
  const dead = await deadPort();
  const refused = await probe({ host: "127.0.0.1", port: dead, address: "x", timeoutMs: 1000, http: undefined });
  assert.deepEqual([refused.ok, refused.error], [false, "connect: ECONNREFUSED"]);
  const silent = net.createServer(() => {});
  const garbage = net.createServer((s) => s.end("SSH-2.0-x\r\n"));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", r));
  const httpCheck = { method: "GET", path: "/", host: undefined, expect: parseExpect("200") };
  try {
    const slow = await probe({ host: "127.0.0.1", port: (silent.address() as net.AddressInfo).port, address: "x", timeoutMs: 200, http: httpCheck });
    assert.deepEqual([slow.ok, slow.error], [false, "timed out after 200 ms"]);
    const bad = await probe({ host: "127.0.0.1", port: (garbage.address() as net.AddressInfo).port, address: "x", timeoutMs: 2000, http: httpCheck });
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /not an HTTP\/1\.x response/);
  } finally {
    silent.close();
    garbage.close();
  }
});

test("cli: tcp --to a dead upstream with --health-check answers /ready 503 and spliced_ready 0 before any traffic", { timeout: 60_000 }, async () => {
  const dead = await deadPort();
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${dead}`, "--health-check", "200ms"]);
  try {
    const ready = async () => (await fetch(`http://127.0.0.1:${proxy.adminPort}/ready`, { headers: { connection: "close" } })).status;
    assert.ok(await eventually(async () => (await ready()) === 503), "ready turns 503 with no traffic at all");
    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`, { headers: { connection: "close" } })).text());
    assert.equal(sample(metrics, "spliced_ready", {}), 0);
    assert.equal(sample(metrics, "spliced_upstream_healthy", { listener: "tcp", upstream: `tcp/127.0.0.1:${dead}` }), 0);
    assert.equal((await proxy.stats()).totals.connections_total, 0, "no client was needed to find out");
  } finally {
    await proxy.stop();
  }
});
