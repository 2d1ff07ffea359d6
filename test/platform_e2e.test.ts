/**
 * Every data path of spliced through ONE proxy process: TCP both ways at once,
 * half-close each way, an upstream reset, an HTTP body spliced from an origin,
 * a static file by sendfile(2), and `/stats` agreeing with the bytes moved.
 *
 * `npm run test:arm64` runs this file (with ffi/sys.test.ts) on the aarch64
 * builds of Deno and Bun under qemu-user, where starting a proxy costs 5-40 s:
 * the other end-to-end files start one proxy per test, this one starts one in
 * all. On x86_64 it runs in `npm test` like any other file.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { connect, exchangeServer, Payload, sendPayload, startServer, type TestServer } from "./helpers/peers.ts";
import { request, startOrigin, type Origin } from "./helpers/origin.ts";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { eventually, quietFdCount, sleep, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";

/** Bytes each way in the TCP exchange: many 1 MiB pipe fills, and quick under emulation. */
const TCP_SIZE = 8 * 1024 * 1024 + 7;
/** Size of the HTTP body and of the static file. */
const BODY_SIZE = 2 * 1024 * 1024 + 123;

let proxy: SplicedProcess;
let origin: Origin;
let exchange: TestServer, clientClose: TestServer, upstreamClose: TestServer, resetter: TestServer;
let site: ReturnType<typeof tempDir>;
const file = randomBytes(BODY_SIZE);
let fdsAtStart = 0;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

before(async () => {
  exchange = await exchangeServer(TCP_SIZE);
  clientClose = await startServer(async (conn) => {
    await conn.ended;
    conn.socket.end(`got ${conn.received.bytes}`);
  });
  upstreamClose = await startServer(async (conn) => {
    conn.socket.end("hello from upstream");
    await conn.ended;
  });
  resetter = await startServer(async (conn) => {
    conn.socket.write(Buffer.alloc(100_000, 7));
    await sleep(100);
    conn.socket.resetAndDestroy();
  });
  origin = await startOrigin();
  site = tempDir("spliced-platform-");
  const root = `${site.dir}/root`;
  mkdirSync(root);
  writeFileSync(`${root}/big.bin`, file);
  const tcp = (name: string, server: TestServer) => ({
    name, mode: "tcp", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${server.port}`],
  });
  const config = writeConfig(site.dir, {
    workers: 2,
    gracePeriod: "1s",
    admin: { listen: "127.0.0.1:0" },
    listeners: [
      tcp("exchange", exchange), tcp("clientclose", clientClose), tcp("upstreamclose", upstreamClose), tcp("reset", resetter),
      {
        name: "web", mode: "http", listen: "127.0.0.1:0",
        routes: [
          { name: "files", path: "/files/", stripPrefix: true, static: { root } },
          { name: "app", path: "/", upstreams: [`127.0.0.1:${origin.port}`] },
        ],
      },
    ],
  });
  proxy = await startSpliced(["--config", config]);
  await settled();
  fdsAtStart = await quietFdCount(proxy);
});

after(async () => {
  await proxy?.stop();
  for (const s of [exchange, clientClose, upstreamClose, resetter]) await s?.close();
  await origin?.close();
  site?.remove();
});

/** Waits until no connection is open and idle pipes were trimmed; returns the stats. */
// deno-lint-ignore no-explicit-any
async function settled(): Promise<any> {
  // deno-lint-ignore no-explicit-any
  let stats: any;
  const ok = await eventually(async () => {
    stats = await proxy.stats();
    return stats.totals.connections_active === 0 && stats.totals.pipes_open === 0;
  }, 30_000);
  assert.ok(ok, `proxy did not settle: ${JSON.stringify(stats?.totals)}`);
  return stats;
}

test("platform: TCP both ways at once through the workers' epoll loops, SHA-256 equal, all spliced", { timeout: 240_000 }, async () => {
  const client = await connect(proxy.ports.exchange);
  const payload = new Payload(TCP_SIZE);
  await sendPayload(client.socket, payload, false);
  assert.ok(await eventually(() => client.received.bytes >= TCP_SIZE, 180_000), "client received everything");
  client.socket.end();
  await client.closed;
  const conn = exchange.connections[0];
  await conn.closed;
  assert.equal(client.received.bytes, TCP_SIZE);
  assert.equal(conn.received.bytes, TCP_SIZE);
  assert.equal(client.received.digest(), conn.sentDigest, "SHA-256 upstream → client");
  assert.equal(conn.received.digest(), payload.digest(), "SHA-256 client → upstream");
  const l = (await settled()).listeners.exchange;
  assert.equal(l.connections_total, 1);
  assert.equal(l.bytes_client_to_upstream, TCP_SIZE);
  assert.equal(l.bytes_upstream_to_client, TCP_SIZE);
  assert.equal(l.bytes_spliced, 2 * TCP_SIZE, "payload went through splice");
  assert.equal(l.bytes_copied, 0);
});

test("platform: client half-close: the upstream sees EOF, then still answers", { timeout: 120_000 }, async () => {
  const client = await connect(proxy.ports.clientclose);
  client.socket.end("x".repeat(5000));
  await client.closed;
  assert.equal(client.received.text(), "got 5000");
  assert.equal(clientClose.connections[0].received.bytes, 5000);
});

test("platform: upstream half-close: the client sees EOF, then still sends", { timeout: 120_000 }, async () => {
  const client = await connect(proxy.ports.upstreamclose);
  await client.ended;
  assert.equal(client.received.text(), "hello from upstream");
  client.socket.end("late words");
  await client.closed;
  await upstreamClose.connections[0].closed;
  assert.equal(upstreamClose.connections[0].received.text(), "late words");
});

test("platform: an upstream reset mid-stream resets the client, after the bytes before it", { timeout: 120_000 }, async () => {
  const client = await connect(proxy.ports.reset);
  let error = "";
  client.socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  assert.ok(await client.closed, "client saw an error close");
  assert.equal(error, "ECONNRESET");
  assert.equal(client.received.bytes, 100_000);
  assert.equal((await settled()).listeners.reset.errors, 1);
});

test("platform: HTTP response bodies from an origin are spliced, SHA-256 equal", { timeout: 120_000 }, async () => {
  for (const chunked of [false, true]) {
    const id = `platform-${chunked}`;
    const r = await request(proxy.ports.web, { path: `/gen?size=${BODY_SIZE}${chunked ? "&chunked=1" : ""}`, headers: { "x-id": id } });
    assert.equal(r.status, 200, id);
    assert.equal(r.bytes, BODY_SIZE, id);
    assert.equal(r.sha256, origin.sent.get(id), `SHA-256 ${id}`);
  }
  const app = (await settled()).routes["web/app"];
  assert.equal(app.responses_2xx, 2);
  // Body bytes that arrive in the same read as the response head are copied; the rest is spliced.
  const headReads = 2 * 64 * 1024;
  assert.ok(app.bytes_spliced >= 2 * BODY_SIZE - headReads, `payload spliced: ${app.bytes_spliced} of ${2 * BODY_SIZE}`);
  assert.ok(app.bytes_spliced + app.bytes_copied > 2 * BODY_SIZE, "heads and chunk lines counted too");
});

test("platform: a static file is sent by sendfile(2), SHA-256 equal", { timeout: 120_000 }, async () => {
  const res = await fetch(`http://127.0.0.1:${proxy.ports.web}/files/big.bin`, { headers: { connection: "close" } });
  assert.equal(res.status, 200);
  const body = new Uint8Array(await res.arrayBuffer());
  assert.equal(body.length, BODY_SIZE);
  assert.equal(sha(body), sha(file));
  const files = (await settled()).routes["web/files"];
  assert.equal(files.bytes_sendfile, BODY_SIZE);
});

test("platform: /stats totals are the sums of what every test moved; runtime and libc named; no fd left", { timeout: 120_000 }, async () => {
  const stats = await settled();
  const names = ["exchange", "clientclose", "upstreamclose", "reset", "web"];
  for (const field of ["connections_total", "bytes_client_to_upstream", "bytes_upstream_to_client", "bytes_spliced", "bytes_sendfile", "errors"]) {
    const sum = names.reduce((n, name) => n + stats.listeners[name][field], 0);
    assert.equal(stats.totals[field], sum, `totals.${field} = sum over listeners`);
  }
  assert.equal(stats.listeners.clientclose.bytes_client_to_upstream, 5000);
  assert.equal(stats.listeners.upstreamclose.bytes_upstream_to_client, "hello from upstream".length);
  assert.equal(stats.listeners.reset.bytes_upstream_to_client, 100_000);
  assert.ok(["deno", "bun"].includes(stats.runtime), stats.runtime);
  assert.match(stats.libc, /^(glibc \d+\.\d+|musl)$/);
  // The proxy runs on the CPU the tests run on (under test:arm64: the aarch64 runtime, emulated too).
  const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`, { headers: { connection: "close" } })).text();
  const arch = /^spliced_build_info\{.*arch="([^"]+)".*\} 1$/m.exec(metrics)?.[1];
  assert.equal(arch, process.arch === "arm64" ? "aarch64" : "x86_64");
  assert.equal(await quietFdCount(proxy, fdsAtStart), fdsAtStart, "fd count back to where it was");
});
