/**
 * The admin server against hostile and careless clients (issue 10, "Admin
 * server"): idle connections close, `/events` is bounded, the admin server
 * leaves the data plane its fds (and caps its connections), `/config` hides
 * route header values, `adminApp()` has the CLI's safe defaults, a failed
 * `POST /reload` is logged, a wrong method is 405, and the test-only hook
 * exists only with SPLICED_TEST_HOOKS=1.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { Hono } from "hono";
import { adminApp, startProxy, type Proxy } from "../src/mod.ts";
import { createAdmin } from "../src/admin/app.ts";
import { serve } from "../src/admin/serve.ts";
import { fdReserve, fdUse, openFds } from "../src/admin/fds.ts";
import { loadSys } from "../ffi/mod.ts";
import { connect, echoServer, type TestServer } from "./helpers/peers.ts";
import { BIN, eventually, sleep, startSpliced, testRuntime } from "./helpers/spliced.ts";
import { serveNative } from "./helpers/native_serve.ts";

const TOKEN = "test-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), "spliced-admin-hardening-"));
/** Well under the 30 s default idle timeout: a close within this proves the configured one applied. */
const CLOSE_BOUND_MS = 15_000;

/** One HTTP/1.1 exchange on a raw socket that the test does not close. */
interface RawClient {
  readonly socket: net.Socket;
  /** The first response (status and body), or undefined when the server closed or reset first. */
  readonly response: Promise<{ status: number; head: string; body: string } | undefined>;
  /** Resolves when the server closed the connection (FIN or reset). */
  readonly closed: Promise<void>;
}

/** Connects to 127.0.0.1:port and sends `request` (nothing when undefined); keeps the socket open. */
function rawClient(port: number, request: string | undefined): RawClient {
  const socket = net.connect(port, "127.0.0.1", () => request !== undefined && socket.write(request));
  socket.on("error", () => {});
  let text = "";
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const response = new Promise<{ status: number; head: string; body: string } | undefined>((resolve) => {
    socket.on("data", (d) => {
      text += d;
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = text.slice(0, end);
      const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? NaN);
      const body = text.slice(end + 4);
      if (Number.isNaN(length) || Buffer.byteLength(body) >= length) resolve({ status: Number(head.split(" ")[1]), head, body });
    });
    closed.then(() => resolve(undefined));
  });
  return { socket, response, closed };
}

function get(path: string, host = "127.0.0.1", keepAlive = true): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${keepAlive ? "" : "Connection: close\r\n"}\r\n`;
}

/** Resolves true when `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return await Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
}

async function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(base + path, { method, body, headers: { connection: "close", ...headers } });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An in-process proxy (listener "svc" → echo server) with its admin server on 127.0.0.1:0. */
async function setup(admin: Record<string, unknown> = {}): Promise<{ proxy: Proxy; echo: TestServer; port: number; base: string }> {
  const echo = await echoServer();
  const proxy = await startProxy({
    workers: 1,
    admin: { listen: "127.0.0.1:0", token: TOKEN, ...admin },
    listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${echo.port}`] }],
  });
  const port = proxy.adminAddress()!.port;
  return { proxy, echo, port, base: `http://127.0.0.1:${port}` };
}

test("admin hardening: idle keep-alive and silent connections close after admin.idleTimeout; /events streams stay", { timeout: 60_000 }, async () => {
  const s = await setup({ idleTimeout: 1000 });
  try {
    const keepAlive = rawClient(s.port, get("/healthz"));
    const silent = rawClient(s.port, undefined);
    const events = rawClient(s.port, get("/events"));
    const first = await keepAlive.response;
    assert.equal(first?.status, 200, "the request is answered");
    assert.doesNotMatch(first!.head, /^connection: close/im, "and the connection is kept alive");
    assert.ok(await within(keepAlive.closed, CLOSE_BOUND_MS), "the idle keep-alive connection is closed by the server");
    assert.ok(await within(silent.closed, CLOSE_BOUND_MS), "a connection that never sends is closed too");

    // The stream writes every second: it outlives the 1 s idle timeout while it runs.
    let seen = 0;
    events.socket.on("data", (d) => (seen += String(d).split("event: stats").length - 1));
    assert.ok(await eventually(() => seen >= 3, 10_000), `/events sent ${seen} events`);
    assert.ok(!events.socket.destroyed && !events.socket.readableEnded, "the stream is still open");
    events.socket.destroy();
  } finally {
    await s.proxy.close(0);
    await s.echo.close();
  }
});

test("admin hardening: past admin.maxEventStreams, /events answers 503 with a JSON error", { timeout: 60_000 }, async () => {
  const s = await setup({ maxEventStreams: 2 });
  const streams: RawClient[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = rawClient(s.port, get("/events"));
      streams.push(c);
      assert.equal((await c.response)?.status, 200);
    }
    const third = await call(s.base, "GET", "/events");
    assert.equal(third.status, 503);
    assert.equal(third.json.error.code, "too_many_streams");
    assert.match(third.json.error.message, /admin\.maxEventStreams/);
    assert.equal((await call(s.base, "GET", "/stats")).status, 200, "other reads still answer");

    streams.shift()!.socket.destroy();
    assert.ok(await eventually(async () => {
      const c = rawClient(s.port, get("/events"));
      streams.push(c);
      return (await c.response)?.status === 200;
    }), "a closed stream frees its place");
  } finally {
    for (const c of streams) c.socket.destroy();
    await s.proxy.close(0);
    await s.echo.close();
  }
});

test("admin hardening: past the connection cap a new admin connection gets 503 and is closed", { timeout: 60_000 }, async () => {
  const served = await serve(() => Response.json({ ok: true }), { host: "127.0.0.1", port: 0 }, { maxConnections: 3 });
  const held: RawClient[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      held.push(rawClient(served.address.port, get("/")));
      assert.equal((await held[i].response)?.status, 200);
    }
    const fourth = rawClient(served.address.port, get("/"));
    const refused = await fourth.response;
    assert.equal(refused?.status, 503);
    assert.equal(JSON.parse(refused!.body).error.code, "admin_busy");
    assert.match(JSON.parse(refused!.body).error.message, /too many admin connections \(3 open\)/);
    assert.ok(await within(fourth.closed, CLOSE_BOUND_MS), "the refused connection is closed");

    held.shift()!.socket.destroy();
    assert.ok(await eventually(async () => (await rawClient(served.address.port, get("/", "127.0.0.1", false)).response)?.status === 200));
  } finally {
    for (const c of held) c.socket.destroy();
    await served.close();
  }
});

test("admin hardening: the fd count follows fds opened and closed; the reserve is an eighth of the limit", async () => {
  const sys = await loadSys();
  const before = openFds(sys);
  assert.equal(typeof before, "number");
  const pipes: Int32Array[] = [];
  for (let i = 0; i < 10; i++) {
    const p = new Int32Array(2);
    assert.ok(sys.pipe2(p, 0o2000000) >= 0);
    pipes.push(p);
  }
  try {
    assert.equal(openFds(sys), before! + 20);
  } finally {
    for (const p of pipes) for (const fd of p) sys.close(fd);
  }
  assert.equal(openFds(sys), before);
  assert.deepEqual([fdReserve(256), fdReserve(1024), fdReserve(65536), fdReserve(1 << 20)], [64, 128, 4096, 4096]);
  const use = fdUse(sys);
  assert.ok(use.ceiling > use.open!, "the test process is not short of fds");
});

/** Starts `spliced --config FILE` with RLIMIT_NOFILE set to `nofile`, and waits for its admin line. */
async function startLimited(config: object, nofile: number) {
  const file = join(dir, `limited-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn("bash", ["-c", `ulimit -n ${nofile} && exec "$0" "$@"`, BIN, "--runtime", testRuntime(), "--config", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const started = await eventually(() => /^admin http:\/\/\S+:\d+\//m.test(out) || child.exitCode !== null, 30_000);
  assert.ok(started && child.exitCode === null, `spliced did not start:\n${out}`);
  return {
    adminPort: Number(/^admin http:\/\/\S+:(\d+)\//m.exec(out)![1]),
    port: Number(/^listener \S+ \S+ \S+:(\d+) ->/m.exec(out)![1]),
    output: () => out,
    stop: () => (child.kill("SIGKILL"), exited),
  };
}

test("admin hardening: with few fds the admin answers 503 while the data plane still accepts and proxies", { timeout: 90_000 }, async () => {
  const echo = await echoServer();
  // 256 fds: the admin server keeps 64 for the data plane, so it runs out of its share
  // (about 190 fds) before its connection cap (256).
  const sp = await startLimited({
    workers: 1,
    admin: { listen: "127.0.0.1:0", idleTimeout: 120_000 },
    listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${echo.port}`] }],
  }, 256);
  const held: RawClient[] = [];
  try {
    // One at a time, so each answer reflects the connections held before it.
    let refused: { status: number; body: string } | undefined;
    while (held.length < 300 && refused === undefined) {
      const c = rawClient(sp.adminPort, get("/healthz"));
      held.push(c);
      const r = await c.response;
      if (r?.status !== 200) refused = r;
    }
    console.log(`with 256 fds the admin server took ${held.length - 1} connections, then answered ${refused?.status}`);
    assert.ok(held.length > 1, "the admin server answers while it has fds");
    assert.ok(held.length - 1 < 256, "and runs out of its share before its connection cap");
    assert.equal(refused?.status, 503);
    assert.equal(JSON.parse(refused!.body).error.code, "admin_busy");
    assert.match(JSON.parse(refused!.body).error.message, /file descriptors are low/);

    // The admitted connections stay open (idle timeout 120 s): the admin's share is taken.
    const clients: Awaited<ReturnType<typeof connect>>[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await connect(sp.port);
      c.socket.write(`ping ${i}`);
      clients.push(c);
    }
    for (let i = 0; i < 5; i++) {
      assert.ok(await eventually(() => clients[i].received.text() === `ping ${i}`), `data-plane connection ${i} echoed`);
    }
    assert.equal((await rawClient(sp.adminPort, get("/healthz", "127.0.0.1", false)).response)?.status, 503, "a new admin request still gets 503");
    for (const c of clients) c.socket.destroy();

    for (const c of held) c.socket.destroy();
    assert.ok(await eventually(async () => (await rawClient(sp.adminPort, get("/healthz", "127.0.0.1", false)).response)?.status === 200),
      "with its fds back, the admin answers again");
    assert.doesNotMatch(sp.output(), /internal error|EMFILE|too many open files/i);
  } finally {
    for (const c of held) c.socket.destroy();
    await sp.stop();
    await echo.close();
  }
});

test("admin hardening: GET /config redacts every header value a route sets", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({
    workers: 1,
    admin: { listen: "127.0.0.1:0", token: TOKEN },
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0",
      routes: [{
        name: "api", upstreams: ["127.0.0.1:1"],
        requestHeaders: { set: { Authorization: "Bearer upstream-secret-1", "X-Api-Key": "key-secret-2" }, remove: ["Cookie"] },
        responseHeaders: { set: { "X-Internal": "resp-secret-3" } },
      }],
    }],
  });
  try {
    const res = await call(`http://127.0.0.1:${proxy.adminAddress()!.port}`, "GET", "/config");
    assert.equal(res.status, 200);
    for (const secret of ["upstream-secret-1", "key-secret-2", "resp-secret-3", TOKEN]) {
      assert.ok(!res.text.includes(secret), `${secret} is not shown`);
    }
    const route = res.json.config.listeners[0].routes[0];
    assert.deepEqual(route.requestHeaders, { set: { Authorization: "[redacted]", "X-Api-Key": "[redacted]" }, remove: ["Cookie"] });
    assert.deepEqual(route.responseHeaders, { set: { "X-Internal": "[redacted]" }, remove: [] });
    assert.equal(res.json.config.admin.token, "[redacted]");
    assert.equal(proxy.config.listeners[0].mode === "http" && proxy.config.listeners[0].routes[0].requestHeaders?.set.Authorization,
      "Bearer upstream-secret-1", "the running config itself is untouched");
  } finally {
    await proxy.close(0);
  }
});


/** A non-loopback IPv4 address of this host, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

function rawFrom(host: string, port: number, request: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host, () => sock.write(request));
    let text = "";
    sock.on("data", (d) => (text += d));
    sock.on("error", () => resolve(undefined));
    sock.on("close", () => resolve(Number(text.split(" ")[1]) || undefined));
  });
}

test("admin hardening: adminApp defaults to the CLI's rules: reads and the Host check by client address", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ name: "db", listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  const app = new Hono();
  app.route("/proxy", adminApp(proxy, { token: TOKEN }));
  const local = serveNative(app.fetch, "127.0.0.1");
  try {
    const drain = `/proxy/upstreams/${encodeURIComponent("db/127.0.0.1:1")}/drain`;
    // A loopback client: reads open, but only to loopback Host names; control needs the token.
    assert.equal(await rawFrom("127.0.0.1", local.port, get("/proxy/stats", "127.0.0.1", false)), 200);
    assert.equal(await rawFrom("127.0.0.1", local.port, get("/proxy/stats", "localhost:8080", false)), 200);
    assert.equal(await rawFrom("127.0.0.1", local.port, get("/proxy/stats", "evil.example", false)), 403, "DNS-rebinding guard");
    assert.equal((await call(`http://127.0.0.1:${local.port}`, "POST", drain)).status, 401);
    // No client address at all (app.request): treated as remote.
    assert.equal((await app.request("/proxy/stats")).status, 401);
    assert.equal((await app.request("/proxy/stats", { headers: AUTH })).status, 200);
    assert.equal((await app.request("/proxy")).status, 200, "the dashboard page holds no data");
  } finally {
    await local.close();
  }

  const ip = externalAddress();
  if (ip === undefined) {
    console.log("no non-loopback IPv4 address here: skipping the remote-client half");
  } else {
    const remote = serveNative(app.fetch, ip);
    try {
      assert.equal(await rawFrom(ip, remote.port, get("/proxy/stats", ip, false)), 401, `a client at ${ip} needs the token`);
      const withToken = `GET /proxy/stats HTTP/1.1\r\nHost: proxy.example\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`;
      assert.equal(await rawFrom(ip, remote.port, withToken), 200, "with it, any Host (as the CLI off loopback)");
    } finally {
      await remote.close();
    }
  }
  // Explicit options still win.
  const open = adminApp(proxy, { token: TOKEN, readsNeedToken: false, loopbackHostsOnly: true });
  assert.equal((await open.request("/stats")).status, 200);
  assert.equal((await open.request("/stats", { headers: { host: "evil.example" } })).status, 403);
  await proxy.close(0);
});

test("admin hardening: a failed POST /reload writes a log line to stderr", { timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const file = join(dir, "reload.json");
  const good = { workers: 1, admin: { listen: "127.0.0.1:0", token: TOKEN }, listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${echo.port}`] }] };
  writeFileSync(file, JSON.stringify(good));
  const sp = await startSpliced(["--config", file]);
  try {
    writeFileSync(file, JSON.stringify({ ...good, listeners: [] }));
    const r = await call(`http://127.0.0.1:${sp.adminPort}`, "POST", "/reload", AUTH);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, "invalid_config");
    assert.ok(await eventually(() => /^spliced: admin: POST \/reload: reload failed, still running the previous config: .*listeners/m.test(sp.output())),
      `stderr:\n${sp.output()}`);
  } finally {
    await sp.stop();
    await echo.close();
  }
});

test("admin hardening: a wrong method on a known path is 405 with Allow; unknown paths stay 404", { timeout: 60_000 }, async () => {
  const s = await setup();
  const id = encodeURIComponent(`svc/127.0.0.1:${s.echo.port}`);
  try {
    const cases: [string, string, string][] = [
      ["GET", `/upstreams/${id}/drain`, "POST"], ["GET", `/upstreams/${id}/enable`, "POST"],
      ["GET", `/upstreams/${id}/disable`, "POST"], ["GET", `/upstreams/${id}/weight`, "PUT"],
      ["POST", `/upstreams/${id}/weight`, "PUT"], ["GET", "/reload", "POST"], ["GET", "/shutdown", "POST"],
      ["POST", "/stats", "GET, HEAD"], ["POST", "/metrics", "GET, HEAD"], ["PUT", "/config", "GET, HEAD"],
      ["DELETE", "/upstreams", "GET, HEAD, POST"], ["POST", `/upstreams/${id}`, "GET, HEAD, DELETE"], ["POST", "/events", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const r = await call(s.base, method, path, AUTH);
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get("allow"), allow, `${method} ${path}`);
      assert.equal(r.json.error.code, "method_not_allowed");
    }
    assert.equal((await call(s.base, "GET", `/upstreams/${id}`)).status, 200, "the right method still works");
    assert.equal((await call(s.base, "HEAD", "/stats")).status, 200);
    assert.equal((await call(s.base, "POST", `/upstreams/${id}/drain`, AUTH)).status, 200);
    assert.equal((await call(s.base, "POST", "/nope")).status, 404);
    assert.equal((await call(s.base, "POST", "/debug/worker-fault", AUTH, '{"worker":0}')).status, 404, "no test hook without SPLICED_TEST_HOOKS=1");
  } finally {
    await s.proxy.close(0);
    await s.echo.close();
  }
});

test("admin hardening: with SPLICED_TEST_HOOKS=1, POST /debug/worker-fault exists behind the token", { timeout: 60_000 }, async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  const saved = process.env.SPLICED_TEST_HOOKS;
  process.env.SPLICED_TEST_HOOKS = "1";
  try {
    const { app } = createAdmin(proxy, { token: TOKEN });
    const post = (body: string, headers: Record<string, string> = AUTH) => app.request("/debug/worker-fault", { method: "POST", body, headers });
    assert.equal((await post('{"worker":0}', {})).status, 401, "needs the token");
    const bad = await post('{"worker":"x"}');
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.field, "worker");
    assert.equal((await post('{"worker":99}')).status, 404, "no such worker");
    assert.equal((await app.request("/debug/worker-fault", { headers: AUTH })).status, 405);
  } finally {
    if (saved === undefined) delete process.env.SPLICED_TEST_HOOKS;
    else process.env.SPLICED_TEST_HOOKS = saved;
    await proxy.close(0);
  }
});
