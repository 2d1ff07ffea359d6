/**
 * Request ids (`requestId: { "header": ... }` on an HTTP listener): an
 * incoming id is kept end to end (the upstream sees it, the client gets it
 * back, the access log has it); a missing or invalid one is replaced by a new
 * 32-hex-digit id, the same on both sides and in the log, unique across many
 * requests on 2 workers; the upstream's own header of that name is replaced;
 * responses the proxy makes (502, 504, 404) and static files carry it. Bodies around the changed
 * heads are compared by SHA-256. Without `requestId` nothing changes. Config
 * errors name the file and the field.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { get, HttpConn, httpUpstream, type HttpUpstream, type ParsedResponse, tempDir, writeConfig } from "./helpers/http.ts";
import { deadPort } from "./helpers/peers.ts";
import { eventually, runCli, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const NEW_ID = /^[0-9a-f]{32}$/;

/** An upstream answering each request with 20 KiB of random bytes, their hash, and its own X-Request-ID (which the proxy replaces). */
function hashingUpstream(): Promise<HttpUpstream> {
  return httpUpstream((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const body = randomBytes(20 * 1024);
      res.setHeader("X-Request-ID", "made-by-upstream");
      res.setHeader("X-Got-Sha", sha(Buffer.concat(parts)));
      res.setHeader("X-Sent-Sha", sha(body));
      res.end(body);
    });
  });
}

interface Setup {
  proxy: SplicedProcess;
  log: string;
  lines(): any[];
  remove(): void;
}

/** `spliced run` with one HTTP listener ("web") to `upstreams`, an access log, and `extra` listener keys. */
async function start(upstreams: string[], extra: Record<string, unknown>, workers = 1): Promise<Setup> {
  const tmp = tempDir("spliced-request-id-");
  const log = join(tmp.dir, "access.log");
  const config = writeConfig(tmp.dir, {
    workers, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", accessLog: log, routes: [{ upstreams }], ...extra }],
  });
  const proxy = await startSpliced(["--config", config]);
  const lines = () => existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { proxy, log, lines, remove: tmp.remove };
}

/** The response's `name` header lines (name compared ignoring case). */
function headerLines(r: ParsedResponse, name: string): string[] {
  return r.rawHeaders.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

/** A POST with a random body; checks both bodies by hash; returns the response. */
async function post(conn: HttpConn, target: string, headers: Record<string, string>): Promise<ParsedResponse> {
  const body = randomBytes(100_000);
  const head = get(target, { ...headers, "Content-Length": String(body.length) }, "POST");
  const r = await conn.request(Buffer.concat([Buffer.from(head, "latin1"), body]));
  assert.equal(r.status, 200);
  assert.equal(r.headers["x-got-sha"], sha(body), "the upstream got the request body intact");
  assert.equal(sha(r.body), r.headers["x-sent-sha"], "the client got the response body intact");
  return r;
}

test("request id: an incoming id is kept: the upstream sees it once, the client gets it back once, the log has it", { timeout: 60_000 }, async () => {
  const up = await hashingUpstream();
  const s = await start([`127.0.0.1:${up.port}`], { requestId: { header: "X-Request-ID" } });
  try {
    const conn = await HttpConn.open(s.proxy.port);
    const ids = ["abc-123", "trace:00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "x".repeat(200), "!#$%&'*+-.^_`|~"];
    for (const [i, id] of ids.entries()) {
      const r = await post(conn, `/kept/${i}`, { "x-request-id": id });
      assert.equal(up.requests[i].headers["x-request-id"], id, "upstream saw the incoming id, once");
      assert.deepEqual(headerLines(r, "X-Request-ID"), [id], "client got it back once (the upstream's own replaced)");
    }
    conn.close();
    assert.ok(await eventually(() => s.lines().length === ids.length));
    assert.deepEqual(s.lines().map((l) => [l.target, l.request_id]), ids.map((id, i) => [`/kept/${i}`, id]));
  } finally {
    await s.proxy.stop();
    await up.close();
    s.remove();
  }
});

test("request id: missing or invalid ids get a new one, the same upstream, at the client and in the log", { timeout: 60_000 }, async () => {
  const up = await hashingUpstream();
  const s = await start([`127.0.0.1:${up.port}`], { requestId: { header: "X-Correlation-Id" } });
  try {
    const conn = await HttpConn.open(s.proxy.port);
    const sent: (string | undefined)[] = [undefined, "x".repeat(201), "has space", "tab\there", ""];
    const got: string[] = [];
    for (const [i, bad] of sent.entries()) {
      const r = await post(conn, `/new/${i}`, bad === undefined ? {} : { "X-Correlation-Id": bad });
      const [id, ...more] = headerLines(r, "x-correlation-id");
      assert.equal(more.length, 0);
      assert.match(id, NEW_ID, `request ${i}: a new id`);
      assert.equal(up.requests[i].headers["x-correlation-id"], id, `request ${i}: the upstream saw the new id only`);
      got.push(id);
    }
    // A byte past ASCII (obs-text) is no id either.
    const raw = Buffer.concat([Buffer.from("GET /new/obs HTTP/1.1\r\nHost: t\r\nX-Correlation-Id: caf"), Buffer.from([0xe9]), Buffer.from("\r\n\r\n")]);
    const r = await conn.request(raw);
    const id = headerLines(r, "X-Correlation-Id")[0];
    assert.match(id, NEW_ID);
    assert.equal(up.requests[sent.length].headers["x-correlation-id"], id);
    got.push(id);
    conn.close();
    assert.equal(new Set(got).size, got.length, "all different");
    assert.ok(await eventually(() => s.lines().length === got.length));
    assert.deepEqual(s.lines().map((l) => l.request_id), got);
  } finally {
    await s.proxy.stop();
    await up.close();
    s.remove();
  }
});

test("request id: new ids are unique across 2 workers and 600 requests", { timeout: 90_000 }, async () => {
  const up = await httpUpstream((req, res) => {
    req.resume();
    req.on("end", () => res.end(String(req.headers["x-request-id"])));
  });
  const s = await start([`127.0.0.1:${up.port}`], { requestId: {} }, 2);
  try {
    const CONNS = 30, EACH = 20;
    const conns = await Promise.all(Array.from({ length: CONNS }, () => HttpConn.open(s.proxy.port)));
    const ids: string[] = [];
    const one = async (conn: HttpConn, i: number) => {
      const r = await conn.request(get(`/u/${i}`));
      const id = r.headers["x-request-id"];
      assert.match(id, NEW_ID);
      assert.equal(r.body.toString(), id, "the upstream saw the id the client got");
      ids.push(id);
    };
    await Promise.all(conns.map((c, i) => one(c, i)));
    // Every connection is open: the admin lists which worker holds each one.
    const open = await (await fetch(`http://127.0.0.1:${s.proxy.adminPort}/stats/connections`)).json();
    const workers = new Set((open.connections ?? open).map((c: any) => c.worker));
    assert.equal(workers.size, 2, `connections on both workers: ${JSON.stringify([...workers])}`);
    await Promise.all(conns.map(async (c, i) => {
      for (let k = 1; k < EACH; k++) await one(c, i * EACH + k);
    }));
    for (const c of conns) c.close();
    assert.equal(ids.length, CONNS * EACH);
    assert.equal(new Set(ids).size, ids.length, "no id twice");
    assert.ok(await eventually(() => s.lines().length === ids.length));
    assert.deepEqual(new Set(s.lines().map((l) => l.request_id)), new Set(ids), "the log has the same ids");
  } finally {
    await s.proxy.stop();
    await up.close();
    s.remove();
  }
});

test("request id: the proxy's own 502, 504 and 404 carry the id (kept or new), and the log has it", { timeout: 60_000 }, async () => {
  const dead = await deadPort();
  const held = new Set<net.Socket>();
  const silent = net.createServer((sock) => void held.add(sock.on("error", () => {}).resume())); // accepts, reads, never answers
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const silentPort = (silent.address() as net.AddressInfo).port;
  const tmp = tempDir("spliced-request-id-");
  const log = join(tmp.dir, "access.log");
  const config = writeConfig(tmp.dir, {
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0", accessLog: log, upstreamTimeout: "300ms", requestId: { header: "X-Request-ID" },
      routes: [{ path: "/dead", upstreams: [`127.0.0.1:${dead}`] }, { path: "/silent", upstreams: [`127.0.0.1:${silentPort}`] }],
    }],
  });
  const proxy = await startSpliced(["--config", config]);
  try {
    // An error answer closes the connection: one connection each.
    const once = async (raw: string) => {
      const conn = await HttpConn.open(proxy.port);
      const r = await conn.request(raw);
      conn.close();
      return r;
    };
    const kept = await once(get("/dead", { "X-Request-ID": "trace-502" }));
    assert.equal(kept.status, 502);
    assert.deepEqual(headerLines(kept, "x-request-id"), ["trace-502"]);
    const made = await once(get("/dead"));
    assert.equal(made.status, 502);
    assert.match(made.headers["x-request-id"], NEW_ID);
    const timedOut = await once(get("/silent", { "X-Request-ID": "trace-504" }));
    assert.equal(timedOut.status, 504);
    assert.deepEqual(headerLines(timedOut, "x-request-id"), ["trace-504"]);
    const noRoute = await once(get("/nowhere", { "X-Request-ID": "trace-404" }));
    assert.equal(noRoute.status, 404);
    assert.deepEqual(headerLines(noRoute, "x-request-id"), ["trace-404"]);
    assert.ok(await eventually(() => held.size === 1 && [...held].every((sock) => sock.readableEnded)), "the proxy closed the silent upstream's connection");
    const lines = () => existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
    assert.ok(await eventually(() => lines().length === 4));
    assert.deepEqual(lines().map((l) => [l.status, l.request_id]), [[502, "trace-502"], [502, made.headers["x-request-id"]], [504, "trace-504"], [404, "trace-404"]]);
  } finally {
    await proxy.stop();
    for (const sock of held) sock.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
    tmp.remove();
  }
});

test("request id: static files carry it too: 200 (body by hash), 304, 404, keep-alive, and the log has it", { timeout: 60_000 }, async () => {
  const tmp = tempDir("spliced-request-id-");
  const root = join(tmp.dir, "www");
  mkdirSync(root);
  const file = randomBytes(300_000);
  writeFileSync(join(root, "f.bin"), file);
  const log = join(tmp.dir, "access.log");
  const config = writeConfig(tmp.dir, {
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", accessLog: log, requestId: {}, routes: [{ static: { root } }] }],
  });
  const proxy = await startSpliced(["--config", config]);
  const conn = await HttpConn.open(proxy.port);
  try {
    const kept = await conn.request(get("/f.bin", { "X-Request-ID": "static-1" }));
    assert.equal(kept.status, 200);
    assert.equal(sha(kept.body), sha(file), "the file arrives intact after the changed head");
    assert.deepEqual(headerLines(kept, "x-request-id"), ["static-1"]);
    const again = await conn.request(get("/f.bin", { "If-None-Match": kept.headers.etag }));
    assert.equal(again.status, 304);
    assert.match(again.headers["x-request-id"], NEW_ID);
    const missing = await conn.request(get("/nope.bin", { "X-Request-ID": "static-404" }));
    assert.equal(missing.status, 404);
    assert.deepEqual(headerLines(missing, "x-request-id"), ["static-404"]);
    const lines = () => existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
    assert.ok(await eventually(() => lines().length === 3));
    assert.deepEqual(lines().map((l) => [l.status, l.request_id]), [[200, "static-1"], [304, again.headers["x-request-id"]], [404, "static-404"]]);
  } finally {
    conn.close();
    await proxy.stop();
    tmp.remove();
  }
});

test("request id: off by default: an incoming header passes as it is, none is added, the log has no request_id", { timeout: 60_000 }, async () => {
  const up = await hashingUpstream();
  const s = await start([`127.0.0.1:${up.port}`], {});
  try {
    const conn = await HttpConn.open(s.proxy.port);
    const r = await post(conn, "/off", { "X-Request-ID": "passes through" });
    assert.equal(up.requests[0].headers["x-request-id"], "passes through");
    assert.deepEqual(headerLines(r, "X-Request-ID"), ["made-by-upstream"], "the upstream's header, untouched");
    const plain = await post(conn, "/off2", {});
    assert.equal(up.requests[1].headers["x-request-id"], undefined, "no id added");
    assert.deepEqual(headerLines(plain, "X-Request-ID"), ["made-by-upstream"]);
    conn.close();
    assert.ok(await eventually(() => s.lines().length === 2));
    assert.ok(s.lines().every((l) => !("request_id" in l)));
  } finally {
    await s.proxy.stop();
    await up.close();
    s.remove();
  }
});

test("request id: config errors name the file and the field, one line each", { timeout: 60_000 }, async () => {
  const tmp = tempDir("spliced-request-id-");
  const http = (requestId: unknown) => ({ listeners: [{ mode: "http", listen: "127.0.0.1:0", routes: [{ upstreams: ["127.0.0.1:1"] }], requestId }] });
  const cases: [unknown, string, string][] = [
    [http({ header: "X Request" }), "listeners[0].requestId.header", "not a valid header name"],
    [http({ header: "Content-Length" }), "listeners[0].requestId.header", "spliced writes this header itself"],
    [http({ header: "via" }), "listeners[0].requestId.header", "spliced writes this header itself"],
    [http({ header: 7 }), "listeners[0].requestId.header", "expected a header name, as X-Request-ID, got 7"],
    [http({ heder: "X-Request-ID" }), "listeners[0].requestId", `unknown key "heder"; did you mean "header"?`],
    [http("X-Request-ID"), "listeners[0].requestId", `expected an object, as { "header": "X-Request-ID" }, got "X-Request-ID"`],
    [{ listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], requestId: {} }] }, "listeners[0]", `unknown key "requestId" for a tcp listener`],
    [{ listeners: [{ mode: "http", listen: "127.0.0.1:0", requestId: {}, routes: [{ upstreams: ["127.0.0.1:1"], responseHeaders: { set: { "x-request-id": "a" } } }] }] },
      "listeners[0].routes[0].responseHeaders.set.x-request-id", "the request id header (requestId.header): spliced sets it itself"],
  ];
  try {
    for (const [i, [config, field, message]] of cases.entries()) {
      const path = writeConfig(tmp.dir, config, `c${i}.json`);
      const r = await runCli(["check", "--config", path]);
      assert.notEqual(r.code, 0, `case ${i} fails`);
      const mine = r.stderr.split("\n").filter((l) => l.includes(field));
      assert.equal(mine.length, 1, `case ${i}: one line for ${field}:\n${r.stderr}`);
      assert.ok(mine[0].includes(path) && mine[0].includes(message), `case ${i}: ${mine[0]}`);
      assert.ok(!r.stderr.includes("    at "), "no stack trace");
    }
    const ok = writeConfig(tmp.dir, http({}), "ok.json");
    const r = await runCli(["check", "--config", ok]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    tmp.remove();
  }
});
