/**
 * End-to-end error handling of the HTTP/1.1 proxy, through ./bin/spliced (and
 * the library for upstream states): every error status a client can get,
 * connections closed after errors unless safe to keep, one bad client never
 * disturbing another, and the JSON access log.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startProxy } from "../src/mod.ts";
import { deadPort, startServer } from "./helpers/peers.ts";
import { eventually, sleep, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import {
  get,
  HttpConn,
  httpUpstream,
  okUpstream,
  parseResponse,
  rawRequest,
  tempDir,
  writeConfig,
} from "./helpers/http.ts";

/** Starts `spliced http` in front of `upstreamPorts` and runs `fn`; stops the proxy after. */
async function withHttp(upstreamPorts: number[], fn: (p: SplicedProcess) => Promise<void>, extra: string[] = []): Promise<void> {
  const proxy = await startSpliced([
    "http", "--listen", "127.0.0.1:0", "--workers", "2", "--grace-period", "1s",
    "--to", upstreamPorts.map((p) => `127.0.0.1:${p}`).join(","), ...extra,
  ]);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

/** Starts spliced from a config with one HTTP listener (admin on port 0 added) and runs `fn`. */
async function withConfig(listener: Record<string, unknown>, fn: (p: SplicedProcess) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const path = writeConfig(tmp.dir, {
    workers: 2,
    gracePeriod: "1s",
    admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", ...listener }],
  });
  const proxy = await startSpliced(["--config", path]);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
    tmp.remove();
  }
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
}

/** Asserts one complete error response with `status`, Connection: close, and the connection closed. */
function assertErrorAndClosed(r: { text: string; bytes: Buffer; closed: boolean }, status: number, what: string): void {
  assert.equal(statusOf(r.text), status, `${what}: got ${JSON.stringify(r.text.slice(0, 200))}`);
  const resp = parseResponse(r.bytes);
  assert.ok(resp, `${what}: a complete response`);
  assert.equal(resp.headers.connection?.toLowerCase(), "close", `${what}: Connection: close`);
  assert.ok(resp.body.toString().startsWith(`${status} `), `${what}: short body naming the status`);
  assert.equal(resp.length, r.bytes.length, `${what}: nothing after the error response`);
  assert.ok(r.closed, `${what}: connection closed by the proxy`);
}

const H = (...lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;

/** Malformed requests: [name, raw bytes, status]. Each must be answered and the connection closed. */
const MALFORMED: [string, string, number][] = [
  ["bad request line (double space)", H("GET  / HTTP/1.1", "Host: a"), 400],
  ["request line without a version", "GET /\r\n\r\n", 400],
  ["lowercase version", H("GET / http/1.1", "Host: a"), 400],
  ["bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
  ["LF-only head", "GET / HTTP/1.1\nHost: a\n\n", 400],
  ["space before the colon", H("GET / HTTP/1.1", "Host : a"), 400],
  ["obs-fold", H("GET / HTTP/1.1", "Host: a", "X-A: b", " c"), 400],
  ["NUL in a value", H("GET / HTTP/1.1", "Host: a", "X-A: b\0c"), 400],
  ["control byte in a value", H("GET / HTTP/1.1", "Host: a", "X-A: b\x01"), 400],
  ["invalid byte in a field name", H("GET / HTTP/1.1", "Host: a", "X-F@o: 1"), 400],
  ["missing Host in HTTP/1.1", H("GET / HTTP/1.1", "Accept: */*"), 400],
  ["two Hosts", H("GET / HTTP/1.1", "Host: a", "Host: a"), 400],
  ["Content-Length with Transfer-Encoding", H("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked") + "0\r\n\r\n", 400],
  ["Transfer-Encoding: gzip (chunked not final)", H("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), 400],
  ["Transfer-Encoding: gzip, chunked (unsupported coding)", H("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked") + "0\r\n\r\n", 501],
  ["duplicate differing Content-Length", H("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6") + "hello", 400],
  ["Content-Length list that differs", H("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6") + "hello", 400],
  ["non-numeric Content-Length", H("POST / HTTP/1.1", "Host: a", "Content-Length: 0x10"), 400],
  ["Content-Length overflow", H("POST / HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999999"), 400],
  ["HTTP/2.0 version", H("GET / HTTP/2.0", "Host: a"), 505],
  ["absolute-form target not matching Host", H("GET http://evil.example/ HTTP/1.1", "Host: good.example"), 400],
];

test("http errors: malformed requests get their status and the connection closed; nothing reaches the upstream", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withHttp([upstream.port], async (proxy) => {
      const failures: string[] = [];
      for (const [name, raw, status] of MALFORMED) {
        const r = await rawRequest(proxy.port, raw);
        try {
          assertErrorAndClosed(r, status, name);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      assert.deepEqual(failures, []);
      assert.equal(upstream.requests.length, 0, "no malformed request was forwarded");
      const stats = await proxy.stats();
      assert.equal(stats.totals.responses_4xx + stats.totals.responses_5xx, MALFORMED.length);
    });
  } finally {
    await upstream.close();
  }
});

/** Bad chunk-size lines in a request body: [name, body bytes after the head]. */
const BAD_CHUNKS: [string, string][] = [
  ["non-hex chunk size", "zz\r\nhello\r\n0\r\n\r\n"],
  ["negative chunk size", "-5\r\nhello\r\n0\r\n\r\n"],
  ["chunk size with a space before CRLF", "5 \r\nhello\r\n0\r\n\r\n"],
  ["chunk size over 16 hex digits", "00000000000000005\r\nhello\r\n0\r\n\r\n"],
  ["bare LF after the chunk size", "5\nhello\r\n0\r\n\r\n"],
  ["chunk data not followed by CRLF", "5\r\nhelloXX0\r\n\r\n"],
  ["invalid chunk extension", "5;=x\r\nhello\r\n0\r\n\r\n"],
];

test("http errors: a malformed chunked request body gets 400 (or a close), never a forwarded response", { timeout: 60_000 }, async () => {
  // The upstream answers only once it has the whole body, so the proxy sees the framing error first.
  const upstream = await httpUpstream((req, res) => {
    req.resume();
    req.on("end", () => res.end("whole body read"));
    req.on("error", () => {});
  });
  try {
    await withHttp([upstream.port], async (proxy) => {
      const failures: string[] = [];
      for (const [name, body] of BAD_CHUNKS) {
        const head = H("POST /upload HTTP/1.1", "Host: a", "Transfer-Encoding: chunked");
        const r = await rawRequest(proxy.port, head + body);
        if (r.text === "") {
          if (!r.closed) failures.push(`${name}: neither answered nor closed`);
          continue;
        }
        try {
          assertErrorAndClosed(r, 400, name);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      assert.deepEqual(failures, []);
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: 404 for a request no route matches (host-only route)", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withConfig({ routes: [{ name: "only", host: "only.example", upstreams: [`127.0.0.1:${upstream.port}`] }] }, async (proxy) => {
      const r = await rawRequest(proxy.port, get("/", { Host: "other.example", Connection: "close" }));
      assertErrorAndClosed(r, 404, "unknown host");
      const ok = await rawRequest(proxy.port, get("/", { Host: "only.example", Connection: "close" }));
      assert.equal(statusOf(ok.text), 200);
      assert.equal(parseResponse(ok.bytes, { atEof: true })?.body.toString(), "ok from upstream");
      assert.equal(upstream.requests.length, 1, "only the routed request reached the upstream");
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: after a 404 on a GET without body the connection stays usable", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withConfig({ routes: [{ name: "only", host: "only.example", upstreams: [`127.0.0.1:${upstream.port}`] }] }, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        const miss = await conn.request(get("/nothing", { Host: "elsewhere.example" }));
        assert.equal(miss.status, 404);
        assert.notEqual(miss.headers.connection?.toLowerCase(), "close");
        const hit = await conn.request(get("/", { Host: "only.example" }));
        assert.equal(hit.status, 200);
        assert.equal(hit.body.toString(), "ok from upstream");
        const miss2 = await conn.request(get("/again", { Host: "elsewhere.example" }));
        assert.equal(miss2.status, 404);
        assert.ok(!conn.closed, "still open after three requests");
      } finally {
        conn.close();
      }
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: an error answering HEAD has no body; a 404 for a request with a body closes", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withConfig({ routes: [{ name: "only", host: "only.example", upstreams: [`127.0.0.1:${upstream.port}`] }] }, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        const miss = await conn.request(get("/", { Host: "elsewhere.example" }, "HEAD"), { head: true });
        assert.equal(miss.status, 404);
        // Any body bytes after the HEAD answer would be read as the next response's status line.
        const hit = await conn.request(get("/", { Host: "only.example" }));
        assert.equal(hit.status, 200);
        assert.equal(hit.body.toString(), "ok from upstream");
      } finally {
        conn.close();
      }
      const head = await rawRequest(proxy.port, get("/", { Host: "elsewhere.example", Connection: "close" }, "HEAD"));
      assert.equal(statusOf(head.text), 404);
      assert.ok(head.text.endsWith("\r\n\r\n"), `nothing after the head of a HEAD answer: ${JSON.stringify(head.text)}`);
      // Not safe to keep: the unread body could be taken for the next request.
      const post = H("POST /form HTTP/1.1", "Host: elsewhere.example", "Content-Length: 5") + "a=b&c";
      assertErrorAndClosed(await rawRequest(proxy.port, post), 404, "404 for a POST with a body");
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: nothing after a rejected request is processed (pipelined and smuggling attempts)", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withHttp([upstream.port], async (proxy) => {
      const attempts: [string, string][] = [
        ["pipelined after a bad head", H("GET / HTTP/1.1", "Host: a", "Host: b") + H("GET /second HTTP/1.1", "Host: a")],
        ["CL.TE", H("POST / HTTP/1.1", "Host: a", "Content-Length: 4", "Transfer-Encoding: chunked") + "0\r\n\r\n" + H("GET /smuggled HTTP/1.1", "Host: a")],
        ["TE.CL", H("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 3") + "5c\r\n" + H("GET /smuggled HTTP/1.1", "Host: a")],
        ["TE with a space before the colon", H("POST / HTTP/1.1", "Host: a", "Content-Length: 40", "Transfer-Encoding : chunked") + "0\r\n\r\n" + H("GET /smuggled HTTP/1.1", "Host: a")],
        ["TE: xchunked", H("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: xchunked") + "0\r\n\r\n" + H("GET /smuggled HTTP/1.1", "Host: a")],
      ];
      for (const [name, raw] of attempts) {
        const r = await rawRequest(proxy.port, raw);
        assertErrorAndClosed(r, 400, name);
        assert.equal(r.text.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, `${name}: exactly one response`);
      }
      assert.equal(upstream.requests.length, 0, "the upstream saw none of it");
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: 408 when the request head does not complete in time (slowloris)", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withConfig({ headTimeout: "300ms", routes: [{ upstreams: [`127.0.0.1:${upstream.port}`] }] }, async (proxy) => {
      const r = await rawRequest(proxy.port, "GET /slow HTTP/1.1\r\nHost: a\r\nX-Half: ", { timeoutMs: 15_000 });
      assertErrorAndClosed(r, 408, "half a head");
      // Trickling bytes does not extend the head's deadline.
      const trickle = await rawRequest(proxy.port, ["GET /slow HTTP/1.1\r\n", "Host: a\r\n", "X-A: 1\r\n", "X-B: 2\r\n", "X-C: 3\r\n", "X-D: 4\r\n", "X-E: 5\r\n", "X-F: 6\r\n"], { gapMs: 100, timeoutMs: 15_000 });
      assertErrorAndClosed(trickle, 408, "trickled head");
      assert.equal(upstream.requests.length, 0);
      const good = await rawRequest(proxy.port, get("/", { Connection: "close" }));
      assert.equal(statusOf(good.text), 200, "a complete head in time is served");
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: 413 when the body is over the route's maxBodySize (Content-Length and chunked)", { timeout: 60_000 }, async () => {
  const upstream = await httpUpstream((req, res) => {
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    req.on("end", () => res.end(`got ${n}`));
    req.on("error", () => {});
  });
  try {
    await withConfig({ routes: [{ upstreams: [`127.0.0.1:${upstream.port}`], maxBodySize: "1k" }] }, async (proxy) => {
      const big = H("POST /up HTTP/1.1", "Host: a", "Content-Length: 2000") + "x".repeat(2000);
      assertErrorAndClosed(await rawRequest(proxy.port, big), 413, "Content-Length over the limit");
      assert.equal(upstream.requests.length, 0, "the CL case never reaches the upstream");

      const chunk = (n: number) => `${n.toString(16)}\r\n${"y".repeat(n)}\r\n`;
      const chunked = H("POST /up HTTP/1.1", "Host: a", "Transfer-Encoding: chunked") + chunk(768) + chunk(768) + "0\r\n\r\n";
      assertErrorAndClosed(await rawRequest(proxy.port, chunked), 413, "chunked body over the limit");

      const atLimit = H("POST /up HTTP/1.1", "Host: a", "Content-Length: 1024", "Connection: close") + "z".repeat(1024);
      const ok = await rawRequest(proxy.port, atLimit);
      assert.equal(statusOf(ok.text), 200, "a body of exactly the limit passes");
      assert.equal(parseResponse(ok.bytes, { atEof: true })?.body.toString(), "got 1024");
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: 414 for a request target over the limit, 431 for a head over maxHeadBytes", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withConfig({ maxHeadBytes: "4k", routes: [{ upstreams: [`127.0.0.1:${upstream.port}`] }] }, async (proxy) => {
      assertErrorAndClosed(await rawRequest(proxy.port, get("/", { "X-Big": "b".repeat(6000) })), 431, "6000-byte header");
      const many: Record<string, string> = {};
      for (let i = 0; i < 200; i++) many[`X-H${i}`] = "v";
      assertErrorAndClosed(await rawRequest(proxy.port, get("/", many)), 431, "200 header fields");
      assert.equal(upstream.requests.length, 0);
    });
    await withHttp([upstream.port], async (proxy) => {
      assertErrorAndClosed(await rawRequest(proxy.port, get(`/${"t".repeat(9000)}`)), 414, "9000-byte target, default limits");
      assertErrorAndClosed(await rawRequest(proxy.port, get("/", { "X-Huge": "h".repeat(20_000) })), 431, "20000-byte header, default limits");
    });
  } finally {
    await upstream.close();
  }
});

test("http errors: 502 when the upstream refuses the connection", { timeout: 60_000 }, async () => {
  const dead = await deadPort();
  await withHttp([dead], async (proxy) => {
    assertErrorAndClosed(await rawRequest(proxy.port, get("/")), 502, "refused");
    const stats = await proxy.stats();
    assert.ok(stats.totals.connect_failures >= 1);
    assert.equal(stats.totals.responses_5xx, 1);
    assert.equal(stats.totals.local_5xx, 1, "the 502 is the proxy's own");
  });
});

test("http errors: 502 when the upstream resets in the middle of the response head", { timeout: 60_000 }, async () => {
  const server = await startServer((conn) => {
    conn.socket.once("data", () => {
      conn.socket.write("HTTP/1.1 200 OK\r\nContent-Le");
      setTimeout(() => conn.socket.resetAndDestroy(), 100);
    });
  });
  try {
    await withHttp([server.port], async (proxy) => {
      assertErrorAndClosed(await rawRequest(proxy.port, get("/")), 502, "reset mid-head");
    });
  } finally {
    await server.close();
  }
});

test("http errors: 502 when the upstream closes without answering", { timeout: 60_000 }, async () => {
  const server = await startServer((conn) => {
    conn.socket.once("data", () => conn.socket.end());
  });
  try {
    await withHttp([server.port], async (proxy) => {
      assertErrorAndClosed(await rawRequest(proxy.port, get("/")), 502, "closed without a response");
    });
  } finally {
    await server.close();
  }
});

/** Malformed responses from an upstream: each must become a 502. */
const BAD_RESPONSES: [string, string][] = [
  ["Content-Length with Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"],
  ["differing Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"],
  ["garbage status line", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"],
  ["not HTTP at all", "SSH-2.0-OpenSSH_9.6\r\n\r\n"],
  ["obs-fold in a header", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n"],
  ["space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"],
  ["bare LF line endings", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"],
];

test("http errors: 502 for malformed upstream responses", { timeout: 60_000 }, async () => {
  let answer = "";
  const server = await startServer((conn) => {
    conn.socket.once("data", () => conn.socket.write(answer));
  });
  try {
    await withHttp([server.port], async (proxy) => {
      const failures: string[] = [];
      for (const [name, raw] of BAD_RESPONSES) {
        answer = raw;
        const r = await rawRequest(proxy.port, get("/"));
        try {
          assertErrorAndClosed(r, 502, name);
          assert.ok(!r.text.includes("hello"), `${name}: nothing of the bad response leaked`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      assert.deepEqual(failures, []);
    });
  } finally {
    await server.close();
  }
});

test("http errors: 504 when the upstream stays silent past --upstream-timeout", { timeout: 60_000 }, async () => {
  const server = await startServer(() => {
    // accepts, reads, never answers
  });
  try {
    await withHttp([server.port], async (proxy) => {
      const r = await rawRequest(proxy.port, get("/"), { timeoutMs: 20_000 });
      assertErrorAndClosed(r, 504, "silent upstream");
      assert.equal(server.connections.length, 1, "the request reached the upstream");
      assert.ok(await eventually(() => server.connections[0].socket.destroyed || server.connections[0].socket.readableEnded), "the upstream connection was closed");
    }, ["--upstream-timeout", "300ms"]);
  } finally {
    await server.close();
  }
});

test("http errors: 503 when every upstream is disabled (library), served again once enabled", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  const proxy = await startProxy({
    workers: 1,
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", routes: [{ name: "app", upstreams: [`127.0.0.1:${upstream.port}`] }] }],
  });
  try {
    const { port } = proxy.address("web");
    const id = `web/app/127.0.0.1:${upstream.port}`;
    assert.equal(proxy.setUpstreamState(id, "disabled"), true);
    const r = await rawRequest(port, get("/"));
    assertErrorAndClosed(r, 503, "all disabled");
    assert.equal(upstream.requests.length, 0);
    assert.equal(proxy.setUpstreamState(id, "up"), true);
    const ok = await rawRequest(port, get("/", { Connection: "close" }));
    assert.equal(statusOf(ok.text), 200);
    assert.equal(upstream.requests.length, 1);
    assert.equal(proxy.stats().totals.responses_5xx, 1);
  } finally {
    await proxy.close(0);
    await upstream.close();
  }
});

test("http errors: one bad client never disturbs a good request in flight on another connection", { timeout: 60_000 }, async () => {
  const size = 8 * 1024 * 1024;
  const body = randomBytes(size);
  const digest = createHash("sha256").update(body).digest("hex");
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let firstHalfSent!: () => void;
  const halfway = new Promise<void>((resolve) => (firstHalfSent = resolve));
  const upstream = await httpUpstream((req, res) => {
    req.resume();
    res.writeHead(200, { "Content-Length": String(size), "Content-Type": "application/octet-stream" });
    res.write(body.subarray(0, size / 2), () => firstHalfSent());
    released.then(() => res.end(body.subarray(size / 2)));
  });
  try {
    await withHttp([upstream.port], async (proxy) => {
      const good = await HttpConn.open(proxy.port);
      try {
        const pending = good.request(get("/big"), { timeoutMs: 30_000 });
        await halfway;
        const bad = await Promise.all([
          rawRequest(proxy.port, H("GET / HTTP/1.1", "Host: a", "Host: b")),
          rawRequest(proxy.port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage"),
          rawRequest(proxy.port, H("POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Transfer-Encoding: chunked")),
        ]);
        assertErrorAndClosed(bad[0], 400, "two Hosts");
        assertErrorAndClosed(bad[1], 400, "TLS hello on the plain port");
        assertErrorAndClosed(bad[2], 400, "CL+TE");
        release();
        const resp = await pending;
        assert.equal(resp.status, 200);
        assert.equal(resp.body.length, size);
        assert.equal(createHash("sha256").update(resp.body).digest("hex"), digest);
        // The good connection is still usable.
        const again = await good.request(get("/big"), { timeoutMs: 30_000 });
        assert.equal(again.status, 200);
        assert.equal(createHash("sha256").update(again.body).digest("hex"), digest);
      } finally {
        good.close();
      }
    });
  } finally {
    release();
    await upstream.close();
  }
});

test("http errors: the access log has one JSON line per request with the documented fields", { timeout: 60_000 }, async () => {
  const upstream = await httpUpstream((req, res) => {
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    req.on("end", () => res.end(`got ${n} bytes`));
  });
  const tmp = tempDir();
  const logPath = join(tmp.dir, "access.log");
  try {
    await withHttp([upstream.port], async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      const a = await conn.request(get("/first?x=1", { Host: "site.example" }));
      assert.equal(a.status, 200);
      const post = H("POST /upload HTTP/1.1", "Host: site.example", "Content-Length: 11") + "hello world";
      const b = await conn.request(post);
      assert.equal(b.body.toString(), "got 11 bytes");
      conn.close();
      const bad = await rawRequest(proxy.port, H("GET / HTTP/1.1", "Host: a", "Host: b"));
      assert.equal(statusOf(bad.text), 400);

      let lines: string[] = [];
      const read = () => (lines = readFileSync(logPath, "utf8").split("\n").filter(Boolean)).length >= 3;
      assert.ok(await eventually(read), `three log lines, got ${lines.length}`);
      assert.equal(lines.length, 3);
      const records = lines.map((l) => JSON.parse(l));
      const fields = ["time", "listener", "route", "client", "method", "target", "host", "status", "bytes_in", "bytes_out",
        "bytes_spliced", "upstream", "duration_ms", "upstream_ms"];
      for (const rec of records) {
        for (const f of fields) assert.ok(f in rec, `field ${f} in ${JSON.stringify(rec)}`);
        assert.ok(!Number.isNaN(Date.parse(rec.time)), "time is a date");
        assert.equal(rec.client, "127.0.0.1");
        assert.equal(rec.listener, "http");
        for (const f of ["status", "bytes_in", "bytes_out", "bytes_spliced", "duration_ms", "upstream_ms"]) {
          assert.equal(typeof rec[f], "number", f);
          assert.ok(rec[f] >= 0, f);
        }
      }
      const byTarget = (t: string) => records.find((r) => r.target === t);
      const first = byTarget("/first?x=1"), upload = byTarget("/upload");
      assert.ok(first && upload, "both proxied requests logged");
      assert.deepEqual([first.method, first.host, first.status, first.route], ["GET", "site.example", 200, "http/all"]);
      assert.equal(first.upstream, `http/all/127.0.0.1:${upstream.port}`);
      assert.ok(first.bytes_out > "ok".length, "bytes_out counts the response");
      assert.deepEqual([upload.method, upload.status], ["POST", 200]);
      assert.ok(upload.bytes_in >= 11, "bytes_in counts the request body");
      const rejected = records.find((r) => r.status === 400);
      assert.ok(rejected, "the 400 is logged too");
    }, ["--access-log", logPath]);
  } finally {
    await upstream.close();
    tmp.remove();
  }
});

test("http errors: the errors are counted by status class in /stats", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  try {
    await withConfig({ routes: [{ host: "only.example", upstreams: [`127.0.0.1:${upstream.port}`] }] }, async (proxy) => {
      await rawRequest(proxy.port, get("/", { Host: "nope.example", Connection: "close" }));
      await rawRequest(proxy.port, H("GET / HTTP/1.1"));
      await rawRequest(proxy.port, get("/", { Host: "only.example", Connection: "close" }));
      await sleep(50);
      // deno-lint-ignore no-explicit-any
      let stats: any;
      assert.ok(await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0));
      assert.equal(stats.totals.responses_4xx, 2);
      assert.equal(stats.totals.local_4xx, 2, "both 4xx (no route, bad request) were the proxy's own");
      assert.equal(stats.totals.responses_2xx, 1);
      assert.equal(stats.totals.requests_total, 3);
    });
  } finally {
    await upstream.close();
  }
});
