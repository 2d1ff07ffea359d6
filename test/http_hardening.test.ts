/**
 * Acceptance tests of the data plane's hardening, end to end through
 * ./bin/spliced with real sockets on 127.0.0.1 and real upstreams:
 *
 *   a. a response the client never reads ends after sendTimeout, however much the client sends
 *   b. TCP: the idle timeout counts bytes moved; a stalled direction ends at sendTimeout
 *   c. routing matches the normalised path; encoded dot-segments get 400
 *   d. absolute-form targets are routed by path and forwarded in origin-form
 *   e. no stray bytes of an upstream reach a later request (no dirty pooled connection)
 *   f. a stale pooled connection is retried for idempotent methods only
 *   g. a local error after an exchange is a clean exchange of its own (body, stats, log)
 *   h. a bad chunk is never forwarded
 *   i. forwarded trailers carry no framing, routing or control fields
 *   j. 1xx responses are bounded (at most 32 per exchange)
 *
 * Several of these fail against the data plane they were written for; they
 * are the acceptance tests of its rewrite. No timing thresholds: timeouts
 * are configured short (1 s) and the effect is awaited with a generous bound.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { connect, echoServer, Payload, sendPayload, startServer } from "./helpers/peers.ts";
import { eventually, quietFdCount, sleep, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import { get, httpUpstream, okUpstream, parseResponse, rawRequest, tempDir, writeConfig } from "./helpers/http.ts";
import { deafClient, deafServer, dechunk, okResponse, rawUpstream, sha256, trickle } from "./helpers/raw_http.ts";

/** How long a test waits for an effect that a 1 s timeout should cause. */
const EFFECT_BOUND_MS = 20_000;
/** The most informational responses forwarded for one request (see test j). */
const MAX_INFORMATIONAL = 32;

const to = (port: number) => `127.0.0.1:${port}`;
const H = (...lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;

/** Starts spliced (one worker, so one upstream pool) with `listeners` and runs `fn`. */
async function withListeners(listeners: Record<string, unknown>[], fn: (p: SplicedProcess) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const path = writeConfig(tmp.dir, { workers: 1, gracePeriod: "1s", admin: { listen: "127.0.0.1:0" }, listeners });
  const proxy = await startSpliced(["--config", path]);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
    tmp.remove();
  }
}

/** One HTTP listener `web` with `settings` (routes included). */
function withHttp(settings: Record<string, unknown>, fn: (p: SplicedProcess) => Promise<void>): Promise<void> {
  return withListeners([{ name: "web", mode: "http", listen: "127.0.0.1:0", ...settings }], fn);
}

/** One TCP listener `tcp` in front of `upstreamPort`. */
function withTcp(upstreamPort: number, settings: Record<string, unknown>, fn: (p: SplicedProcess) => Promise<void>): Promise<void> {
  return withListeners([{ name: "tcp", listen: "127.0.0.1:0", upstreams: [to(upstreamPort)], ...settings }], fn);
}

/** Waits until the proxy has no open connection and its fd count is back to `fdsBefore`. */
async function assertAllClosed(proxy: SplicedProcess, fdsBefore: number): Promise<void> {
  // deno-lint-ignore no-explicit-any
  let stats: any;
  const idle = await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0, EFFECT_BOUND_MS);
  assert.ok(idle, `connections_active back to 0 (is ${stats?.totals.connections_active})`);
  assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore, "fd count back to where it was");
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
}

// ---------------------------------------------------------------- a. sendTimeout

test("hardening a: a response the client never reads ends after sendTimeout, though the client keeps sending", { timeout: 90_000 }, async () => {
  const size = 64 * 1024 * 1024;
  const upstream = await startServer((conn) => {
    conn.socket.once("data", () => {
      conn.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      sendPayload(conn.socket, new Payload(size), false).catch(() => {});
    });
  });
  try {
    await withHttp({ sendTimeout: "1s", routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const fdsBefore = await quietFdCount(proxy);
      const client = await deafClient(proxy.port);
      client.socket.write(get("/big"));
      // A pipelined request, one byte every 100 ms: the client is busy, only its reading stalled.
      const drip = trickle(client.socket, get("/next"));
      let upstreamGone = false;
      assert.ok(await eventually(() => upstream.connections.length === 1), "precondition: the request reached the upstream");
      upstream.connections[0].ended.then(() => (upstreamGone = true));
      const ended = await eventually(() => upstreamGone, EFFECT_BOUND_MS);
      assert.ok((client.socket.bytesRead ?? 0) < size, "precondition: the client did not read the whole response");
      assert.ok(ended, `the stalled exchange was not ended within ${EFFECT_BOUND_MS} ms (the client sent ${drip.sent()} bytes meanwhile)`);
      // The paused client notices the close when its next trickled byte is refused.
      assert.ok(await eventually(() => client.closed(), 5_000), "the client connection was closed too");
      drip.stop();
      await assertAllClosed(proxy, fdsBefore);
    });
  } finally {
    await upstream.close();
  }
});

// ---------------------------------------------------------------- b. TCP timeouts

test("hardening b1: TCP: a connection with no bytes moving ends at idleTimeout", { timeout: 60_000 }, async () => {
  const upstream = await echoServer();
  try {
    await withTcp(upstream.port, { idleTimeout: "1s" }, async (proxy) => {
      const fdsBefore = await quietFdCount(proxy);
      const client = await connect(proxy.port);
      let ended = false;
      client.ended.then(() => (ended = true));
      assert.ok(await eventually(() => ended, EFFECT_BOUND_MS), "the idle connection was closed");
      assert.equal((await proxy.stats()).totals.idle_timeouts, 1);
      client.socket.destroy();
      await assertAllClosed(proxy, fdsBefore);
    });
  } finally {
    await upstream.close();
  }
});

test("hardening b2: TCP: a connection moving a byte every 200 ms survives three idleTimeouts", { timeout: 60_000 }, async () => {
  const upstream = await echoServer();
  try {
    await withTcp(upstream.port, { idleTimeout: "1s" }, async (proxy) => {
      const client = await connect(proxy.port);
      let ended = false;
      client.ended.then(() => (ended = true));
      const drip = trickle(client.socket, "0123456789", 200);
      await sleep(3_000);
      drip.stop();
      const sent = drip.sent();
      assert.ok(await eventually(() => client.received.bytes === sent), `all ${sent} bytes echoed (got ${client.received.bytes})`);
      assert.equal(ended, false, "still open after 3 s of traffic with a 1 s idle timeout");
      assert.equal((await proxy.stats()).totals.idle_timeouts, 0);
      client.socket.destroy();
    });
  } finally {
    await upstream.close();
  }
});

test("hardening b3: TCP: the upstream never reads, the client's bytes fill every buffer: the tunnel ends at idleTimeout", { timeout: 90_000 }, async () => {
  const upstream = await deafServer();
  try {
    await withTcp(upstream.port, { idleTimeout: "1s" }, async (proxy) => {
      const fdsBefore = await quietFdCount(proxy);
      const client = await connect(proxy.port);
      sendPayload(client.socket, new Payload(64 * 1024 * 1024), false).catch(() => {});
      let ended = false;
      client.closed.then(() => (ended = true));
      assert.ok(await eventually(() => ended, EFFECT_BOUND_MS), "the stalled tunnel was closed");
      await assertAllClosed(proxy, fdsBefore);
    });
  } finally {
    await upstream.close();
  }
});

test("hardening b4: TCP: a direction stalled for sendTimeout ends the tunnel while the other direction still moves bytes", { timeout: 90_000 }, async () => {
  // The upstream never reads but sends a byte every 100 ms, which the client reads: the tunnel is not idle.
  const upstream = await deafServer((c) => void trickle(c.socket, "u"));
  try {
    await withTcp(upstream.port, { idleTimeout: "1h", sendTimeout: "1s" }, async (proxy) => {
      const fdsBefore = await quietFdCount(proxy);
      const client = await connect(proxy.port);
      sendPayload(client.socket, new Payload(64 * 1024 * 1024), false).catch(() => {});
      let ended = false;
      client.ended.then(() => (ended = true));
      const closed = await eventually(() => ended, EFFECT_BOUND_MS);
      assert.ok(client.received.bytes > 0, "precondition: bytes moved upstream to client");
      assert.ok(closed, `the stalled client-to-upstream direction did not end the tunnel within ${EFFECT_BOUND_MS} ms`);
      client.socket.destroy();
      await assertAllClosed(proxy, fdsBefore);
    });
  } finally {
    await upstream.close();
  }
});

test("hardening b5: --send-timeout on the command line ends a stalled TCP direction, and counts it", { timeout: 90_000 }, async () => {
  const upstream = await deafServer((c) => void trickle(c.socket, "u"));
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", to(upstream.port), "--idle-timeout", "1h", "--send-timeout", "1s"]);
  try {
    const client = await connect(proxy.port);
    sendPayload(client.socket, new Payload(64 * 1024 * 1024), false).catch(() => {});
    let ended = false;
    client.ended.then(() => (ended = true));
    assert.ok(await eventually(() => ended, EFFECT_BOUND_MS), "the stalled direction ended the tunnel");
    client.socket.destroy();
    assert.ok(await eventually(async () => (await proxy.stats()).totals.send_timeouts === 1, EFFECT_BOUND_MS), "send_timeouts counted once");
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

// ---------------------------------------------------------------- c. normalised routing

/** Two node:http upstreams: `/api` and everything else; each answers its own name. */
async function twoUpstreams() {
  const answer = (name: string) => httpUpstream((req, res) => {
    req.resume();
    req.on("end", () => res.end(name));
  });
  const api = await answer("api"), rest = await answer("rest");
  const routes = [{ name: "api", path: "/api", upstreams: [to(api.port)] }, { name: "rest", path: "/", upstreams: [to(rest.port)] }];
  return { api, rest, routes, close: () => Promise.all([api.close(), rest.close()]) };
}

test("hardening c1: /api/../internal never reaches the /api upstream; the normalised path is forwarded", { timeout: 60_000 }, async () => {
  const up = await twoUpstreams();
  try {
    await withHttp({ routes: up.routes }, async (proxy) => {
      const control = await rawRequest(proxy.port, get("/api/x", { Connection: "close" }));
      assert.equal(parseResponse(control.bytes, { atEof: true })?.body.toString(), "api", "precondition: /api/x reaches the api upstream");
      const failures: string[] = [];
      for (const target of ["/api/../internal", "/api/x/../../internal", "/api/./../internal", "/api/..?q=/api/"]) {
        const r = await rawRequest(proxy.port, get(target, { Connection: "close" }));
        const body = parseResponse(r.bytes, { atEof: true })?.body.toString();
        if (body !== "rest") failures.push(`${target}: answered by ${JSON.stringify(body)} (${JSON.stringify(r.text.slice(0, 40))})`);
      }
      const seen = up.rest.requests.map((r) => r.url);
      const expected = ["/internal", "/internal", "/internal", "/?q=/api/"];
      if (JSON.stringify(seen) !== JSON.stringify(expected)) failures.push(`rest upstream saw ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}`);
      const apiSaw = up.api.requests.map((r) => r.url);
      if (apiSaw.length !== 1) failures.push(`api upstream saw ${JSON.stringify(apiSaw)}, expected only the control`);
      assert.deepEqual(failures, []);
    });
  } finally {
    await up.close();
  }
});

test("hardening c2: encoded dot-segments get 400 and reach no upstream", { timeout: 60_000 }, async () => {
  const up = await twoUpstreams();
  try {
    await withHttp({ routes: up.routes }, async (proxy) => {
      const failures: string[] = [];
      for (const target of ["/api/%2e%2e/internal", "/api/%2E%2E/internal", "/api/.%2e/internal", "/api/%2e./internal", "/api/..%2finternal", "/api/%2e/x"]) {
        const r = await rawRequest(proxy.port, get(target, { Connection: "close" }));
        if (statusOf(r.text) !== 400) failures.push(`${target}: status ${statusOf(r.text)}, expected 400`);
      }
      const seen = [...up.api.requests, ...up.rest.requests].map((r) => r.url);
      if (seen.length > 0) failures.push(`upstreams saw ${JSON.stringify(seen)}`);
      assert.deepEqual(failures, []);
    });
  } finally {
    await up.close();
  }
});

// ---------------------------------------------------------------- d. absolute-form

test("hardening d: an absolute-form target is routed by its path and arrives in origin-form", { timeout: 60_000 }, async () => {
  const raw = await rawUpstream((req) => req.conn.socket.write(okResponse("raw")));
  const other = await okUpstream("other");
  try {
    const routes = [{ path: "/api", upstreams: [to(raw.port)] }, { path: "/", upstreams: [to(other.port)] }];
    await withHttp({ routes }, async (proxy) => {
      const r = await rawRequest(proxy.port, H("GET http://test.local/api/x?q=1 HTTP/1.1", "Host: test.local", "Connection: close"));
      assert.equal(parseResponse(r.bytes, { atEof: true })?.body.toString(), "raw", `routed to /api: ${JSON.stringify(r.text.slice(0, 60))}`);
      assert.equal(other.requests.length, 0);
      assert.equal(raw.requests.length, 1);
      assert.equal(raw.requests[0].line, "GET /api/x?q=1 HTTP/1.1");
      const host = raw.requests[0].headers.find(([n]) => n.toLowerCase() === "host")?.[1];
      assert.equal(host, "test.local");
    });
  } finally {
    await raw.close();
    await other.close();
  }
});

// ---------------------------------------------------------------- e. stray bytes

/** How the upstream sends one too many responses after the first answer on each connection. */
const STRAY_MODES = {
  /** Head, then (100 ms later) body and a stray response in one write: they meet in the socket. */
  split: (s: Socket, body: string, stray: string) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
    setTimeout(() => s.write(body + stray), 100);
  },
  /** Answer and stray response in one write. */
  together: (s: Socket, body: string, stray: string) => void s.write(okResponse(body) + stray),
  /** The stray response 100 ms after the answer (the connection is idle by then). */
  later: (s: Socket, body: string, stray: string) => {
    s.write(okResponse(body));
    setTimeout(() => s.write(stray), 100);
  },
};

for (const [mode, send] of Object.entries(STRAY_MODES)) {
  test(`hardening e (${mode}): bytes beyond an upstream's Content-Length never reach a later request`, { timeout: 60_000 }, async () => {
    const stray = okResponse("STRAY");
    // Every connection's first answer is followed by a stray response; later requests on it are answered honestly.
    const upstream = await rawUpstream((req) => {
      if (req.index > 0) return void req.conn.socket.write(okResponse(req.target));
      send(req.conn.socket, req.target, stray);
    });
    try {
      await withHttp({ routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
        const failures: string[] = [];
        // The second request waits until the stray bytes were sent (100 ms after the answer) and seen.
        const a = await rawRequest(proxy.port, [get("/a1"), get("/a2", { Connection: "close" })], { gapMs: 1_500 });
        const [a1, a2] = splitResponses(a.bytes);
        if (a1 !== "/a1") failures.push(`first request got ${JSON.stringify(a1)}`);
        if (a2 !== "/a2") failures.push(`next request on the same client connection got ${JSON.stringify(a2)}`);
        await sleep(200);
        const b = await rawRequest(proxy.port, get("/b1", { Connection: "close" }));
        const b1 = parseResponse(b.bytes, { atEof: true })?.body.toString();
        if (b1 !== "/b1") failures.push(`a new client connection got ${JSON.stringify(b1)}`);
        const reused = upstream.requests.filter((r) => r.index > 0).map((r) => `${r.target} on connection ${r.connIndex}`);
        if (reused.length > 0) failures.push(`sent on a connection that had stray bytes: ${reused.join(", ")}`);
        assert.deepEqual(failures, []);
      });
    } finally {
      await upstream.close();
    }
  });
}

/** The bodies of the (up to two) complete responses in `bytes`. */
function splitResponses(bytes: Buffer): (string | undefined)[] {
  const first = parseResponse(bytes);
  if (!first) return [undefined, undefined];
  const second = parseResponse(bytes.subarray(first.length), { atEof: true });
  return [first.body.toString(), second?.body.toString()];
}

// ---------------------------------------------------------------- f. retries

/** [method, body or "", retried?]: idempotent methods without a body are retried, the rest never. */
const RETRY_CASES: [string, string, boolean][] = [
  ["GET", "", true],
  ["HEAD", "", true],
  ["DELETE", "", true],
  ["PUT", "", true],
  ["OPTIONS", "", true],
  ["POST", "", false],
  ["PATCH", "", false],
  ["POST", "hello", false],
  ["PUT", "hello", false],
];

test("hardening f: a stale pooled connection is retried for idempotent requests without a body, never for POST", { timeout: 90_000 }, async () => {
  // Each connection answers its first request, then reads the next one and closes without answering.
  const upstream = await rawUpstream((req) => {
    const s = req.conn.socket;
    if (req.index > 0) return void s.destroy();
    s.write(req.method === "HEAD" ? `HTTP/1.1 200 OK\r\nContent-Length: ${req.target.length}\r\n\r\n` : okResponse(req.target));
  });
  try {
    await withHttp({ routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const failures: string[] = [];
      for (const [i, [method, body, retried]] of RETRY_CASES.entries()) {
        const target = `/case${i}-${method}`;
        const what = `${method}${body ? " with a body" : ""}`;
        const warm = await rawRequest(proxy.port, get(`/warm${i}`), { until: (t) => parseResponse(Buffer.from(t, "latin1")) !== undefined });
        if (statusOf(warm.text) !== 200) failures.push(`warm-up before ${what}: ${statusOf(warm.text)}`);
        const headers = ["Host: test.local", "Connection: close", ...(body ? [`Content-Length: ${body.length}`] : [])];
        const r = await rawRequest(proxy.port, H(`${method} ${target} HTTP/1.1`, ...headers) + body);
        const seen = upstream.requests.filter((q) => q.target === target);
        if (seen[0]?.index !== 1) failures.push(`${what}: precondition: first sent on a reused connection (${JSON.stringify(seen.map((q) => q.index))})`);
        const status = statusOf(r.text);
        if (retried) {
          const resp = parseResponse(r.bytes, { head: method === "HEAD", atEof: true });
          if (status !== 200) failures.push(`${what}: status ${status}, expected 200 after a retry`);
          else if (method !== "HEAD" && resp?.body.toString() !== target) failures.push(`${what}: body ${JSON.stringify(resp?.body.toString())}`);
        } else {
          if (status !== 502) failures.push(`${what}: status ${status}, expected 502 (not retried)`);
          if (seen.length !== 1) failures.push(`${what}: the upstream saw it ${seen.length} times`);
        }
      }
      assert.deepEqual(failures, []);
    });
  } finally {
    await upstream.close();
  }
});

// ---------------------------------------------------------------- g. local error after an exchange

test("hardening g: a 400 after a HEAD exchange on the same connection has its body, is counted and logged as itself", { timeout: 60_000 }, async () => {
  const upstream = await httpUpstream((req, res) => {
    req.resume();
    res.setHeader("Content-Type", "text/plain");
    res.end("0123456789");
  });
  const tmp = tempDir();
  const logPath = join(tmp.dir, "access.log");
  try {
    await withHttp({ accessLog: logPath, routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const failures: string[] = [];
      const r = await rawRequest(proxy.port, [get("/x", {}, "HEAD"), H("GET /bad HTTP/1.1", "Host: a", "Host: b")], { gapMs: 300 });
      const head = parseResponse(r.bytes, { head: true });
      if (head?.status !== 200) failures.push(`HEAD answered ${head?.status}`);
      const rest = head ? r.bytes.subarray(head.length) : Buffer.alloc(0);
      const headEnd = rest.indexOf("\r\n\r\n");
      const errHead = rest.subarray(0, Math.max(0, headEnd)).toString("latin1");
      const declared = Number(/\r\ncontent-length: *(\d+)/i.exec(errHead)?.[1] ?? -1);
      const bodyBytes = headEnd < 0 ? -1 : rest.length - headEnd - 4;
      if (statusOf(errHead) !== 400) failures.push(`then ${JSON.stringify(errHead.slice(0, 40))}, expected 400`);
      if (declared < 1 || declared !== bodyBytes) failures.push(`400 declares Content-Length ${declared}, has ${bodyBytes} body bytes`);
      if (!r.closed) failures.push("connection not closed after the 400");

      // deno-lint-ignore no-explicit-any
      let stats: any;
      await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0);
      const t = stats.totals;
      if (t.responses_2xx !== 1 || t.responses_4xx !== 1) failures.push(`stats: 2xx ${t.responses_2xx}, 4xx ${t.responses_4xx}; expected 1 and 1`);
      if (t.requests_total !== 2) failures.push(`stats: requests_total ${t.requests_total}, expected 2`);

      let lines: string[] = [];
      await eventually(() => (lines = readFileSync(logPath, "utf8").split("\n").filter(Boolean)).length >= 2, 5_000);
      const records = lines.map((l) => JSON.parse(l));
      const rejected = records.find((x) => x.status === 400);
      if (records.length !== 2) failures.push(`${records.length} log lines, expected 2`);
      if (!rejected) failures.push(`no log line with status 400: ${JSON.stringify(records)}`);
      else if (rejected.method === "HEAD" || rejected.target === "/x") failures.push(`the 400 is logged as the earlier request: ${JSON.stringify(rejected)}`);
      assert.deepEqual(failures, []);
    });
  } finally {
    await upstream.close();
    tmp.remove();
  }
});

// ---------------------------------------------------------------- h. bad chunks

test("hardening h: chunk data not followed by CRLF gets 400 and none of that chunk reaches the upstream", { timeout: 60_000 }, async () => {
  const upstream = await rawUpstream((req) => req.conn.socket.write(okResponse(`got ${req.body.toString("latin1")}`, "Connection: close\r\n")));
  try {
    await withHttp({ routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const head = H("POST /up HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Connection: close");
      const control = await rawRequest(proxy.port, head + "5\r\nhello\r\n0\r\n\r\n");
      assert.equal(parseResponse(control.bytes, { atEof: true })?.body.toString(), "got hello", "precondition: a good chunk is forwarded");
      const before = upstream.connections.length;
      const r = await rawRequest(proxy.port, head + "5\r\nhelloXX0\r\n\r\n");
      assert.equal(statusOf(r.text), 400, `answer: ${JSON.stringify(r.text.slice(0, 60))}`);
      assert.ok(r.closed, "connection closed");
      const later = upstream.connections.slice(before);
      await eventually(() => later.every((c) => c.socket.destroyed || c.socket.readableEnded), 5_000);
      const leaked = later.map((c) => c.received.text()).filter((t) => t.includes("hello"));
      assert.deepEqual(leaked, [], "the upstream received the bad chunk's data");
    });
  } finally {
    await upstream.close();
  }
});

// ---------------------------------------------------------------- i. trailers

const BAD_TRAILERS = ["Content-Length: 5", "Transfer-Encoding: chunked", "Host: evil.example", "Connection: close"];
const FORBIDDEN = ["content-length", "transfer-encoding", "host", "connection"];

/** A chunked body of `data` in 64 KiB chunks and a trailer section of `trailers`. */
function chunked(data: Buffer, trailers: string[]): Buffer {
  const parts: Buffer[] = [];
  for (let p = 0; p < data.length; p += 65536) {
    const chunk = data.subarray(p, p + 65536);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from(`0\r\n${trailers.map((t) => `${t}\r\n`).join("")}\r\n`, "latin1"));
  return Buffer.concat(parts);
}

/** Problems with a forwarded trailer section: forbidden fields present, X-Checksum missing or changed. */
function trailerProblems(side: string, trailers: [string, string][], checksum: string): string[] {
  const out: string[] = [];
  const names = trailers.map(([n]) => n.toLowerCase());
  const bad = names.filter((n) => FORBIDDEN.includes(n));
  if (bad.length > 0) out.push(`${side}: forwarded trailers ${JSON.stringify(bad)}`);
  const kept = trailers.find(([n]) => n.toLowerCase() === "x-checksum")?.[1];
  if (kept !== checksum) out.push(`${side}: X-Checksum ${JSON.stringify(kept)}, expected ${checksum}`);
  return out;
}

test("hardening i: forwarded trailers lose Content-Length, Transfer-Encoding, Host, Connection (request and response)", { timeout: 60_000 }, async () => {
  const data = randomBytes(300_000);
  const checksum = sha256(data);
  const upstream = await rawUpstream((req) => {
    const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n";
    req.conn.socket.write(Buffer.concat([Buffer.from(head), chunked(data, [...BAD_TRAILERS, `X-Checksum: ${checksum}`])]));
  });
  try {
    await withHttp({ routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const head = H("POST /up HTTP/1.1", "Host: test.local", "Transfer-Encoding: chunked", "TE: trailers", "Connection: close");
      const body = chunked(data, [`X-Checksum: ${checksum}`, ...BAD_TRAILERS]);
      const r = await rawRequest(proxy.port, Buffer.concat([Buffer.from(head), body]));
      const failures: string[] = [];
      const got = upstream.requests[0];
      if (!got) failures.push("the upstream got no complete request");
      else {
        if (sha256(got.body) !== checksum) failures.push("request body changed");
        failures.push(...trailerProblems("request", got.trailers, checksum));
      }
      const headEnd = r.bytes.indexOf("\r\n\r\n");
      const resp = headEnd < 0 ? null : dechunk(r.bytes, headEnd + 4);
      if (statusOf(r.text) !== 200 || !resp) failures.push(`response: ${JSON.stringify(r.text.slice(0, 60))}`);
      else {
        if (sha256(resp.data) !== checksum) failures.push("response body changed");
        failures.push(...trailerProblems("response", resp.trailers, checksum));
      }
      assert.deepEqual(failures, []);
    });
  } finally {
    await upstream.close();
  }
});

// ---------------------------------------------------------------- j. 1xx bound

test(`hardening j1: 10,000 informational responses get a 502 (or a close), at most ${MAX_INFORMATIONAL} forwarded`, { timeout: 60_000 }, async () => {
  const upstream = await rawUpstream((req) => {
    req.conn.socket.write("HTTP/1.1 100 Continue\r\n\r\n".repeat(10_000) + okResponse("final"));
  });
  try {
    await withHttp({ routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const r = await rawRequest(proxy.port, get("/", { Connection: "close" }), { timeoutMs: EFFECT_BOUND_MS });
      const statuses = [...r.text.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      const informational = statuses.filter((s) => s < 200).length;
      const final = statuses.find((s) => s >= 200);
      assert.ok(r.closed, "connection closed");
      assert.ok(informational <= MAX_INFORMATIONAL, `${informational} informational responses forwarded`);
      assert.ok(final === undefined || final === 502, `final status ${final}, expected 502 or none`);
    });
  } finally {
    await upstream.close();
  }
});

test("hardening j2: a few informational responses (100, 103 Early Hints) are forwarded before the final one", { timeout: 60_000 }, async () => {
  const upstream = await rawUpstream((req) => {
    const hints = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
    req.conn.socket.write("HTTP/1.1 100 Continue\r\n\r\n".repeat(3) + hints + okResponse("final"));
  });
  try {
    await withHttp({ routes: [{ upstreams: [to(upstream.port)] }] }, async (proxy) => {
      const r = await rawRequest(proxy.port, get("/", { Connection: "close" }));
      const statuses = [...r.text.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      assert.deepEqual(statuses, [100, 100, 100, 103, 200]);
      assert.ok(r.text.includes("Link: </style.css>; rel=preload"), "the hint's fields are forwarded");
      assert.ok(r.text.endsWith("final"));
    });
  } finally {
    await upstream.close();
  }
});
