/**
 * PROXY protocol end to end, in-process (startProxy, one worker), real
 * sockets on 127.0.0.1: accepted v1 and v2 headers become the client address
 * (X-Forwarded-For at a real HTTP upstream, /stats/connections, the access
 * log); untrusted, malformed, partial and slow headers are refused and
 * counted; LOCAL keeps the socket's address; TLVs are skipped; headers sent
 * to raw upstreams are checked byte for byte, then the payload's SHA-256;
 * upstream connections that carried a header are pooled per client. With
 * haproxy installed: haproxy `send-proxy-v2` in front, `accept-proxy` behind.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { type ConfigInput, type Proxy, startProxy } from "../src/mod.ts";
import { writeV1, writeV2 } from "../src/proxyproto/mod.ts";
import { get, HttpConn, httpUpstream, tempDir } from "./helpers/http.ts";
import { connect, deadPort, Payload, sendPayload } from "./helpers/peers.ts";
import { sha256 } from "./helpers/raw_http.ts";
import { eventually } from "./helpers/spliced.ts";

const SOURCE = { host: "203.0.113.7", port: 4711 }, DEST = { host: "192.0.2.80", port: 80 };
const V1 = writeV1({ family: "tcp4", source: SOURCE, destination: DEST });
const V2 = writeV2({ family: "tcp4", source: SOURCE, destination: DEST });
const bytes = (s: string) => Buffer.from(s, "latin1");
const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);

async function withProxy(config: ConfigInput, fn: (proxy: Proxy) => Promise<void>): Promise<void> {
  const proxy = await startProxy(config);
  try {
    await fn(proxy);
  } finally {
    await proxy.close(0);
  }
}

/** An HTTP upstream answering with the X-Forwarded-For it received. */
const xffUpstream = () => httpUpstream((req, res) => res.end(String(req.headers["x-forwarded-for"] ?? "")));

function httpListener(upstreamPort: number, extra: Record<string, unknown> = {}) {
  return { name: "web", mode: "http" as const, listen: "127.0.0.1:0", routes: [{ upstreams: [`127.0.0.1:${upstreamPort}`] }], ...extra };
}

test("accept v1 and v2: the header's source is X-Forwarded-For, /stats/connections' client and the access log's", { timeout: 60_000 }, async () => {
  const upstream = await xffUpstream();
  const tmp = tempDir();
  const log = join(tmp.dir, "access.json");
  try {
    await withProxy({ workers: 1, listeners: [httpListener(upstream.port, { acceptProxyProtocol: "any", trustedProxies: ["127.0.0.0/8"], accessLog: log })] }, async (proxy) => {
      const { port } = proxy.address("web");
      for (const header of [V1, V2]) {
        const conn = await HttpConn.open(port);
        // The header and the request in one write: the request must not be lost behind the header.
        const r = await conn.request(cat(header, bytes(get("/one"))));
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), SOURCE.host);
        const list = await proxy.connections();
        assert.deepEqual(list.map((c) => c.client), [`${SOURCE.host}:${SOURCE.port}`]);
        conn.close();
        assert.ok(await eventually(() => proxy.stats().totals.connections_active === 0));
      }
      assert.ok(await eventually(() => readFileSync(log, "utf8").trim().split("\n").length === 2));
      const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => l.client), [SOURCE.host, SOURCE.host]);
      assert.equal(proxy.stats().totals.proxy_protocol_refused, 0);
    });
  } finally {
    tmp.remove();
    await upstream.close();
  }
});

test("accept: a header split across writes, then the request", { timeout: 30_000 }, async () => {
  const upstream = await xffUpstream();
  try {
    await withProxy({ workers: 1, listeners: [httpListener(upstream.port, { acceptProxyProtocol: "v2", trustedProxies: ["127.0.0.1"] })] }, async (proxy) => {
      const conn = await HttpConn.open(proxy.address("web").port);
      for (const [from, to] of [[0, 5], [5, 14], [14, V2.length]]) {
        conn.socket.write(V2.subarray(from, to));
        await new Promise((r) => setTimeout(r, 30));
      }
      const r = await conn.request(get("/"));
      assert.equal(r.body.toString(), SOURCE.host);
      conn.close();
    });
  } finally {
    await upstream.close();
  }
});

/** One upstream connection's bytes. */
interface Seen {
  readonly socket: net.Socket;
  readonly chunks: Buffer[];
  all(): Buffer;
}

/** A raw upstream on 127.0.0.1:0 keeping every byte of each connection; `onData` may answer. */
async function sink(onData: (c: Seen) => void = () => {}) {
  const connections: Seen[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const c: Seen = { socket, chunks: [], all: () => Buffer.concat(c.chunks) };
    connections.push(c);
    socket.on("data", (d: Buffer) => {
      c.chunks.push(d);
      onData(c);
    });
    socket.on("end", () => socket.end());
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((done) => {
      for (const c of connections) c.socket.destroy();
      server.close(() => done());
    }),
  };
}

test("accept on TCP: v2 with TLVs is skipped to the payload; LOCAL keeps the socket's address", { timeout: 30_000 }, async () => {
  const upstream = await sink();
  try {
    const listener = { name: "tcp", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${upstream.port}`], acceptProxyProtocol: "v2" as const, trustedProxies: ["127.0.0.1/32"] };
    await withProxy({ workers: 1, listeners: [listener] }, async (proxy) => {
      const { port } = proxy.address("tcp");
      const tlvs = [{ type: 0xe1, value: bytes("vendor data") }, { type: 0x04, value: new Uint8Array(7) }];
      const withTlvs = writeV2({ family: "tcp4", source: SOURCE, destination: DEST }, false, tlvs);
      const local = writeV2({ family: "tcp4", source: SOURCE, destination: DEST }, true);
      for (const [header, expect] of [[withTlvs, `${SOURCE.host}:${SOURCE.port}`], [local, "socket"]] as const) {
        const client = await connect(port);
        client.socket.write(cat(header, bytes("payload after the header")));
        assert.ok(await eventually(() => upstream.connections.at(-1)?.all().length === 24), "payload reached the upstream");
        const [info] = await proxy.connections();
        const mine = `127.0.0.1:${client.socket.localPort}`;
        assert.equal(info.client, expect === "socket" ? mine : expect);
        client.socket.end();
        await client.closed;
        assert.equal(upstream.connections.at(-1)!.all().toString("latin1"), "payload after the header");
      }
    });
  } finally {
    await upstream.close();
  }
});

test("refused: untrusted source, malformed, wrong version, partial then closed, slow; counted, nothing reaches the upstream", { timeout: 60_000 }, async () => {
  const upstream = await sink();
  try {
    const tcp = (name: string, extra: Record<string, unknown>) => ({ name, listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${upstream.port}`], ...extra });
    const config: ConfigInput = {
      workers: 1,
      listeners: [
        tcp("untrusted", { acceptProxyProtocol: "any", trustedProxies: ["10.0.0.0/8", "::1"] }),
        tcp("v2only", { acceptProxyProtocol: "v2", trustedProxies: ["127.0.0.1"] }),
        httpListener(upstream.port, { name: "slow", acceptProxyProtocol: "v1", trustedProxies: ["127.0.0.1"], headTimeout: "300ms" }),
      ],
    };
    await withProxy(config, async (proxy) => {
      const closedAfter = async (listener: string, data: Uint8Array | null, end = false) => {
        const client = await connect(proxy.address(listener).port);
        if (data) client.socket.write(data);
        if (end) client.socket.end();
        await client.closed;
        assert.equal(client.received.bytes, 0, listener);
      };
      await closedAfter("untrusted", V1);
      await closedAfter("v2only", bytes(get("/")));
      await closedAfter("v2only", V1);
      await closedAfter("v2only", cat(V2.subarray(0, 20)), true);
      await closedAfter("v2only", cat(V2.subarray(0, 14), Uint8Array.of(0x99, 0, 0)));
      await closedAfter("slow", bytes("PROXY TCP4 1.2.3.4 ")); // never completed: the head timeout closes it
      const s = proxy.stats();
      assert.equal(s.listeners.untrusted.proxy_protocol_untrusted, 1);
      assert.equal(s.listeners.untrusted.proxy_protocol_refused, 0);
      assert.equal(s.listeners.v2only.proxy_protocol_refused, 4);
      assert.equal(s.listeners.slow.proxy_protocol_refused, 1);
      assert.equal(s.totals.connections_total, 0);
      assert.equal(upstream.connections.length, 0);
    });
  } finally {
    await upstream.close();
  }
});

/** The v1 text / v2 bytes spliced should send for a client at `src` that reached `dst`. */
function expectedHeader(version: "v1" | "v2", src: number, dst: number): Buffer {
  const a = { family: "tcp4" as const, source: { host: "127.0.0.1", port: src }, destination: { host: "127.0.0.1", port: dst } };
  if (version === "v1") return bytes(`PROXY TCP4 127.0.0.1 127.0.0.1 ${src} ${dst}\r\n`);
  const b = Buffer.alloc(28);
  Buffer.from("0d0a0d0a000d0a515549540a2111000c7f0000017f000001", "hex").copy(b);
  b.writeUInt16BE(src, 24);
  b.writeUInt16BE(dst, 26);
  assert.deepEqual(b, Buffer.from(writeV2(a)));
  return b;
}

test("send on TCP: v1 and v2, the exact header then the payload (SHA-256)", { timeout: 60_000 }, async () => {
  for (const version of ["v1", "v2"] as const) {
    const upstream = await sink();
    try {
      await withProxy({ workers: 1, listeners: [{ name: "t", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${upstream.port}`], sendProxyProtocol: version }] }, async (proxy) => {
        const port = proxy.address("t").port;
        const client = await connect(port);
        const clientPort = client.socket.localPort!;
        const payload = new Payload(3 * 1024 * 1024 + 5);
        await sendPayload(client.socket, payload);
        await client.closed;
        const got = upstream.connections[0].all();
        const header = expectedHeader(version, clientPort, port);
        assert.deepEqual(got.subarray(0, header.length), header, version);
        assert.equal(sha256(got.subarray(header.length)), payload.digest(), version);
      });
    } finally {
      await upstream.close();
    }
  }
});

test("accept then send: the accepted header's addresses are passed on", { timeout: 30_000 }, async () => {
  const upstream = await sink();
  try {
    const listener = { name: "t", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${upstream.port}`], acceptProxyProtocol: "v1" as const, trustedProxies: ["127.0.0.1"], sendProxyProtocol: "v1" as const };
    await withProxy({ workers: 1, listeners: [listener] }, async (proxy) => {
      const client = await connect(proxy.address("t").port);
      client.socket.end(cat(V1, bytes("x")));
      await client.closed;
      assert.equal(upstream.connections[0].all().toString("latin1"), `PROXY TCP4 203.0.113.7 192.0.2.80 4711 80\r\nx`);
    });
  } finally {
    await upstream.close();
  }
});

/** Raw HTTP upstream answering each request head (bodiless GETs) with 200 "ok", keeping the raw bytes. */
function headerUpstream() {
  const answered = new Map<Seen, number>();
  return sink((c) => {
    // Request lines, not blank lines: a v2 header starts with CRLF CRLF.
    const requests = c.all().toString("latin1").match(/GET \S+ HTTP\/1\.1\r\n[^]*?\r\n\r\n/g)?.length ?? 0;
    for (let n = answered.get(c) ?? 0; n < requests; n++) c.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    answered.set(c, requests);
  });
}

test("send on HTTP: per route v1/v2, once per upstream connection, pooled only for the same client", { timeout: 60_000 }, async () => {
  const upstream = await headerUpstream();
  try {
    const target = [`127.0.0.1:${upstream.port}`];
    const listener = {
      name: "web", mode: "http" as const, listen: "127.0.0.1:0", sendProxyProtocol: "v2" as const,
      routes: [{ name: "one", path: "/v1", upstreams: target, sendProxyProtocol: "v1" as const }, { name: "two", upstreams: target }],
    };
    await withProxy({ workers: 1, listeners: [listener] }, async (proxy) => {
      const port = proxy.address("web").port;
      const a = await HttpConn.open(port);
      for (const path of ["/v1/a", "/v1/b", "/other", "/other"]) assert.equal((await a.request(get(path))).status, 200);
      const b = await HttpConn.open(port);
      assert.equal((await b.request(get("/v1/c"))).status, 200);
      // a: one v1 connection carrying two requests, one v2 connection carrying two; b: its own v1 connection.
      assert.equal(upstream.connections.length, 3, JSON.stringify(upstream.connections.map((c) => c.all().toString("latin1"))));
      const seen = upstream.connections.map((c) => c.all());
      const ha = expectedHeader("v1", a.socket.localPort!, port), hb = expectedHeader("v1", b.socket.localPort!, port);
      const h2 = expectedHeader("v2", a.socket.localPort!, port);
      assert.deepEqual(seen[0].subarray(0, ha.length), ha);
      assert.equal(seen[0].toString("latin1").split("PROXY").length, 2, "one header on the reused connection");
      assert.match(seen[0].subarray(ha.length).toString("latin1"), /^GET \/v1\/a HTTP\/1\.1\r\n[^]*GET \/v1\/b HTTP\/1\.1\r\n/);
      assert.deepEqual(seen[1].subarray(0, h2.length), h2);
      assert.match(seen[1].subarray(h2.length).toString("latin1"), /^GET \/other HTTP\/1\.1\r\n[^]*GET \/other /);
      assert.deepEqual(seen[2].subarray(0, hb.length), hb);
      a.close();
      b.close();
    });
  } finally {
    await upstream.close();
  }
});

// --- HAProxy interop ------------------------------------------------------------------------

const haproxy = spawnSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" }).stdout.trim();

async function startHaproxy(config: string, port: number): Promise<{ stop: () => Promise<void> }> {
  const tmp = tempDir("spliced-haproxy-");
  const file = join(tmp.dir, "haproxy.cfg");
  await import("node:fs").then((fs) => fs.writeFileSync(file, config));
  const child = spawn(haproxy, ["-db", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const up = await eventually(() => new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
  }));
  assert.ok(up, `haproxy did not start: ${stderr}`);
  return {
    stop: () => new Promise<void>((resolve) => {
      child.once("exit", () => { tmp.remove(); resolve(); });
      child.kill("SIGTERM");
    }),
  };
}

/** A GET with Connection: close from `localAddress`; the body once the server closed. */
function closingGet(port: number, localAddress: string): Promise<{ body: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ port, host: "127.0.0.1", localAddress }, () => s.write(get("/", { Connection: "close" })));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      resolve({ body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
  });
}

const DEFAULTS = "global\n  log stderr format raw local0 err\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n";

test("haproxy send-proxy-v2 in front of spliced (acceptProxyProtocol v2)", { skip: !haproxy && "haproxy not installed", timeout: 60_000 }, async () => {
  const upstream = await xffUpstream();
  const front = await deadPort();
  try {
    await withProxy({ workers: 1, listeners: [httpListener(upstream.port, { acceptProxyProtocol: "v2", trustedProxies: ["127.0.0.1"] })] }, async (proxy) => {
      const cfg = `${DEFAULTS}frontend f\n  bind 127.0.0.1:${front}\n  default_backend b\nbackend b\n  server s 127.0.0.1:${proxy.address("web").port} send-proxy-v2\n`;
      const h = await startHaproxy(cfg, front);
      try {
        // From 127.0.0.2, so the client haproxy saw differs from haproxy's own address (127.0.0.1).
        const { body } = await closingGet(front, "127.0.0.2");
        assert.equal(body, "127.0.0.2");
        assert.equal(proxy.stats().totals.proxy_protocol_refused, 0);
        assert.equal(proxy.stats().totals.requests_total, 1);
      } finally {
        await h.stop();
      }
    });
  } finally {
    await upstream.close();
  }
});

test("spliced sendProxyProtocol v2 in front of a haproxy accept-proxy listener", { skip: !haproxy && "haproxy not installed", timeout: 60_000 }, async () => {
  const back = await deadPort();
  const cfg = `${DEFAULTS}frontend f\n  bind 127.0.0.1:${back} accept-proxy\n  http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port]"\n`;
  const h = await startHaproxy(cfg, back);
  try {
    for (const mode of ["tcp", "http"] as const) {
      const listener = mode === "tcp"
        ? { name: "p", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${back}`], sendProxyProtocol: "v2" as const }
        : { ...httpListener(back, { sendProxyProtocol: "v2" }), name: "p" };
      await withProxy({ workers: 1, listeners: [listener] }, async (proxy) => {
        const conn = await HttpConn.open(proxy.address("p").port);
        const r = await conn.request(get("/"));
        assert.equal(r.status, 200, mode);
        assert.equal(r.body.toString(), `127.0.0.1:${conn.socket.localPort}`, mode);
        conn.close();
      });
    }
  } finally {
    await h.stop();
  }
});
