/**
 * End-to-end HTTP/1.1 proxying through ./bin/spliced: bodies both ways with
 * Content-Length and chunked framing compared by SHA-256, keep-alive on both
 * sides, pipelining, 100-continue, header rewriting, WebSocket upgrade.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { Payload } from "./helpers/peers.ts";
import { request, startOrigin, type Origin } from "./helpers/origin.ts";
import { connect, startServer } from "./helpers/peers.ts";
import { eventually, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import { startWebSocketEcho } from "./helpers/websocket.ts";

async function withHttp(fn: (proxy: SplicedProcess, origin: Origin) => Promise<void>, extra: string[] = []): Promise<void> {
  const origin = await startOrigin();
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${origin.port}`, ...extra]);
  try {
    await fn(proxy, origin);
  } finally {
    await proxy.stop();
    await origin.close();
  }
}

const SIZES = [0, 1, 65536, 1024 * 1024 + 1, 200 * 1024 * 1024];

test("http: response bodies 0 B..200 MiB, Content-Length and chunked, SHA-256 equal, spliced", { timeout: 180_000 }, async () => {
  await withHttp(async (proxy, origin) => {
    let expectedDown = 0;
    for (const size of SIZES) {
      for (const chunked of [false, true]) {
        const id = `${size}-${chunked}`;
        const r = await request(proxy.port, { path: `/gen?size=${size}${chunked ? "&chunked=1" : ""}`, headers: { "x-id": id } });
        assert.equal(r.status, 200, id);
        assert.equal(r.bytes, size, id);
        assert.equal(r.sha256, origin.sent.get(id), `SHA-256 ${id}`);
        assert.equal(r.headers["transfer-encoding"], chunked ? "chunked" : undefined, id);
        expectedDown += size;
      }
    }
    const stats = await proxy.stats();
    assert.ok(stats.totals.bytes_upstream_to_client > expectedDown, "heads and chunk lines counted too");
    assert.ok(stats.totals.bytes_spliced >= expectedDown * 0.99, `payload spliced: ${stats.totals.bytes_spliced} of ${expectedDown}`);
    assert.equal(stats.totals.responses_2xx, SIZES.length * 2);
  });
});

test("http: request bodies 0 B..200 MiB, Content-Length and chunked, SHA-256 equal at the origin", { timeout: 180_000 }, async () => {
  await withHttp(async (proxy) => {
    for (const size of SIZES) {
      for (const chunked of [false, true]) {
        const body = new Payload(size);
        const headers: Record<string, string> = chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(size) };
        const r = await request(proxy.port, { method: "POST", path: "/sink", headers, body });
        assert.equal(r.status, 200);
        const seen = JSON.parse(r.text);
        assert.equal(seen.bytes, size, `${size} chunked=${chunked}`);
        assert.equal(seen.sha256, body.digest(), `SHA-256 ${size} chunked=${chunked}`);
        assert.equal(seen.te, chunked ? "chunked" : null);
      }
    }
  });
});

test("http: keep-alive on both sides: one client socket, one upstream connection, many requests", { timeout: 60_000 }, async () => {
  await withHttp(async (proxy, origin) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 50; i++) {
      const r = await request(proxy.port, { path: `/gen?size=${i * 100}`, headers: { "x-id": `k${i}` }, agent });
      assert.equal(r.status, 200);
      assert.equal(r.sha256, origin.sent.get(`k${i}`));
    }
    agent.destroy();
    const stats = await proxy.stats();
    assert.equal(stats.totals.connections_total, 1, "one client connection");
    assert.equal(origin.connections, 1, "one upstream connection reused");
    assert.equal(stats.totals.requests_total, 50);
  }, ["--workers", "1"]);
});

test("http: pipelined requests are answered in order", { timeout: 60_000 }, async () => {
  await withHttp(async (proxy) => {
    const client = await connect(proxy.port);
    const texts: string[] = [];
    client.socket.on("data", (d: Uint8Array) => texts.push(Buffer.from(d).toString("latin1")));
    const one = (path: string) => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;
    client.socket.write(one("/headers?n=1") + one("/gen?size=3") + one("/headers?n=3") + `GET /headers?n=4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
    await client.ended;
    client.socket.destroy();
    const all = texts.join("");
    const statuses = [...all.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["200", "200", "200", "200"]);
    const order = [...all.matchAll(/"url":"\/headers\?n=(\d)"/g)].map((m) => m[1]);
    assert.deepEqual(order, ["1", "3", "4"]);
  });
});

test("http: Expect: 100-continue is passed through, then the body", { timeout: 60_000 }, async () => {
  // A raw origin that answers 100 Continue itself, reads the 5-byte body, then responds.
  const server = await startServer(async (conn) => {
    await eventually(() => conn.received.bytes > 0);
    conn.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    await eventually(() => conn.received.text().includes("\r\n\r\nhello"));
    conn.socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`]);
  try {
    const client = await connect(proxy.port);
    let text = "";
    client.socket.on("data", (d: Uint8Array) => (text += Buffer.from(d).toString("latin1")));
    client.socket.write("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    assert.ok(await eventually(() => text.includes("100 Continue")), `got: ${text}`);
    client.socket.write("hello");
    await client.ended;
    client.socket.destroy();
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n/);
    assert.match(text, /HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nok$/);
  } finally {
    await proxy.stop();
    await server.close();
  }
});

test("http: hop-by-hop headers removed, X-Forwarded-* and Via added, Host and target as sent", { timeout: 60_000 }, async () => {
  await withHttp(async (proxy) => {
    const r = await request(proxy.port, {
      path: "/headers?q=a%20b",
      headers: { host: "example.test:8080", connection: "x-drop, keep-alive", "x-drop": "1", "keep-alive": "timeout=5", "x-forwarded-for": "10.1.2.3", "proxy-connection": "x", te: "trailers", "x-keep": "yes" },
    });
    const seen = JSON.parse(r.text);
    assert.equal(seen.url, "/headers?q=a%20b");
    assert.equal(seen.headers.host, "example.test:8080");
    assert.equal(seen.headers["x-forwarded-for"], "10.1.2.3, 127.0.0.1");
    assert.equal(seen.headers["x-forwarded-proto"], "http");
    assert.equal(seen.headers["x-forwarded-host"], "example.test:8080");
    assert.match(seen.headers.via, /^1\.1 spliced$/);
    assert.equal(seen.headers["x-keep"], "yes");
    for (const gone of ["x-drop", "keep-alive", "proxy-connection", "te"]) assert.equal(seen.headers[gone], undefined, gone);
    assert.match(String(r.headers.via), /spliced/);
  });
});

test("http: HTTP/1.0 client gets a de-chunked body and a closed connection", { timeout: 60_000 }, async () => {
  await withHttp(async (proxy, origin) => {
    const client = await connect(proxy.port);
    const chunks: Uint8Array[] = [];
    client.socket.on("data", (d: Uint8Array) => chunks.push(d));
    client.socket.write("GET /gen?size=100000&chunked=1 HTTP/1.0\r\nx-id: old\r\n\r\n");
    await client.ended;
    client.socket.destroy();
    const all = Buffer.concat(chunks);
    const split = all.indexOf("\r\n\r\n");
    const head = all.subarray(0, split).toString("latin1");
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(head, /transfer-encoding/i);
    const { createHash } = await import("node:crypto");
    assert.equal(createHash("sha256").update(all.subarray(split + 4)).digest("hex"), origin.sent.get("old"));
  });
});

test("http: WebSocket upgrade becomes a spliced tunnel (runtime's own WebSocket client)", { timeout: 60_000 }, async () => {
  const origin = await startWebSocketEcho();
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${origin.port}`]);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/chat`);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send("hello");
        ws.send("x".repeat(100_000));
      };
      ws.onmessage = (e) => {
        messages.push(String(e.data));
        if (messages.length === 2) resolve();
      };
      ws.onerror = () => reject(new Error("websocket error"));
    });
    ws.close();
    assert.equal(messages[0], "hello");
    assert.equal(messages[1].length, 100_000);
    await eventually(async () => (await proxy.stats()).totals.connections_active === 0);
    const stats = await proxy.stats();
    assert.equal(stats.totals.responses_1xx, 1, "the 101 is counted");
  } finally {
    await proxy.stop();
    await origin.close();
  }
});

test("http: SIGTERM closes idle keep-alive connections at once and exits 0 (no wait for the grace period)", { timeout: 30_000 }, async () => {
  const origin = await startOrigin();
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${origin.port}`, "--grace-period", "120s"]);
  try {
    const client = await connect(proxy.port);
    client.socket.write("GET /gen?size=10 HTTP/1.1\r\nHost: t\r\n\r\n");
    await eventually(() => client.received.bytes > 10);
    assert.equal(await proxy.stop("SIGTERM"), 0);
    await client.ended;
    client.socket.destroy();
  } finally {
    proxy.child.kill("SIGKILL");
    await origin.close();
  }
});
