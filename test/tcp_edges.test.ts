/**
 * End-to-end edge cases of the TCP proxy: half-close each way, refused
 * upstreams, resets on either side, many concurrent connections.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { connect, deadPort, echoServer, Payload, sendPayload, startServer, type TestServer } from "./helpers/peers.ts";
import { eventually, quietFdCount, sleep, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import { loadSys } from "../ffi/mod.ts";
import { localAddress, openListener } from "../src/dataplane/io/sockets.ts";

async function withProxy(server: TestServer | number[], fn: (p: SplicedProcess) => Promise<void>, extra: string[] = []) {
  const ports = Array.isArray(server) ? server : [server.port];
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", ports.map((p) => `127.0.0.1:${p}`).join(","), ...extra]);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
    if (!Array.isArray(server)) await server.close();
  }
}

async function idle(proxy: SplicedProcess): Promise<any> {
  let stats: any;
  await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0);
  return stats;
}

test("tcp: client half-close: upstream sees EOF, then still answers", { timeout: 60_000 }, async () => {
  const server = await startServer(async (conn) => {
    await conn.ended;
    conn.socket.end(`got ${conn.received.bytes}`);
  });
  await withProxy(server, async (proxy) => {
    const client = await connect(proxy.port);
    client.socket.end("x".repeat(5000));
    await client.closed;
    assert.equal(client.received.bytes, "got 5000".length);
    assert.equal(server.connections[0].received.bytes, 5000);
  });
});

test("tcp: upstream half-close: client sees EOF, then still sends", { timeout: 60_000 }, async () => {
  const server = await startServer(async (conn) => {
    conn.socket.end("hello from upstream");
    await conn.ended;
  });
  await withProxy(server, async (proxy) => {
    const client = await connect(proxy.port);
    await client.ended;
    assert.equal(client.received.bytes, "hello from upstream".length);
    client.socket.end("late words");
    await client.closed;
    await server.connections[0].closed;
    assert.equal(server.connections[0].received.bytes, "late words".length);
  });
});

test("tcp: refused upstream: the next upstream is used", { timeout: 60_000 }, async () => {
  const dead = await deadPort();
  const server = await echoServer();
  await withProxy([dead, server.port], async (proxy) => {
    for (let i = 0; i < 4; i++) {
      const client = await connect(proxy.port);
      client.socket.end("ping");
      await client.closed;
      assert.equal(client.received.bytes, 4, `connection ${i} was echoed`);
    }
    const stats = await idle(proxy);
    assert.ok(stats.totals.connect_failures >= 1, "refusals counted");
    assert.equal(stats.upstreams[`tcp/127.0.0.1:${dead}`].connections_total, 0);
    assert.equal(stats.upstreams[`tcp/127.0.0.1:${server.port}`].connections_total, 4);
  }, ["--workers", "1"]);
  await server.close();
});

test("tcp: no upstream left: the client is closed without data", { timeout: 60_000 }, async () => {
  const dead1 = await deadPort();
  const dead2 = await deadPort();
  await withProxy([dead1, dead2], async (proxy) => {
    const client = await connect(proxy.port);
    client.socket.write("anyone?");
    await client.ended;
    client.socket.destroy();
    assert.equal(client.received.bytes, 0);
    const stats = await idle(proxy);
    assert.equal(stats.totals.connect_failures, 2);
    assert.equal(stats.totals.errors, 1);
  });
});

test("tcp: upstream reset mid-stream resets the client", { timeout: 60_000 }, async () => {
  const server = await startServer(async (conn) => {
    conn.socket.write(Buffer.alloc(100_000, 7));
    await sleep(100);
    conn.socket.resetAndDestroy();
  });
  await withProxy(server, async (proxy) => {
    const client = await connect(proxy.port);
    let error = "";
    client.socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const hadError = await client.closed;
    assert.ok(hadError, "client saw an error close");
    assert.equal(error, "ECONNRESET");
    assert.equal(client.received.bytes, 100_000, "bytes before the reset were delivered");
    const stats = await idle(proxy);
    assert.equal(stats.totals.errors, 1);
    assert.equal(stats.totals.resets, 1);
    assert.equal(Object.values(stats.upstreams as Record<string, { resets: number }>)[0].resets, 1, "counted on the upstream too");
  });
});

test("tcp: client abort mid-stream closes the upstream, other connections unharmed", { timeout: 60_000 }, async () => {
  const big = 64 * 1024 * 1024;
  const server = await startServer(async (conn) => {
    const payload = new Payload(big);
    try {
      await sendPayload(conn.socket, payload);
    } catch {
      // the aborted client's upstream write fails: expected
    }
    conn.sentDigest = payload.digest();
  });
  await withProxy(server, async (proxy) => {
    const victim = await connect(proxy.port);
    await eventually(() => server.connections.length === 1);
    const bystander = await connect(proxy.port);
    await eventually(() => victim.received.bytes > 1024 * 1024);
    victim.socket.resetAndDestroy();
    await server.connections[0].closed;
    await bystander.ended;
    bystander.socket.destroy();
    assert.equal(bystander.received.bytes, big);
    assert.equal(bystander.received.digest(), server.connections[1].sentDigest);
    const stats = await idle(proxy);
    assert.equal(stats.totals.connections_total, 2);
    assert.ok(stats.totals.errors >= 1);
  });
});

test("tcp: 1,000 concurrent connections, each echoed intact", { timeout: 120_000 }, async () => {
  const server = await echoServer();
  await withProxy(server, async (proxy) => {
    const fdsBefore = await quietFdCount(proxy);
    const one = async (i: number) => {
      const client = await connect(proxy.port);
      const msg = `${i}:`.padEnd(1000 + (i % 97), String.fromCharCode(97 + (i % 26)));
      client.socket.end(msg);
      await client.closed;
      return client.received.digest() === createHash("sha256").update(msg).digest("hex");
    };
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => one(i)));
    assert.equal(results.filter(Boolean).length, 1000);
    const stats = await idle(proxy);
    assert.equal(stats.totals.connections_total, 1000);
    assert.equal(stats.totals.errors, 0);
    await eventually(async () => (await proxy.stats()).totals.pipes_open === 0);
    assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore);
  }, ["--workers", "2"]);
});

test("tcp: max connections: past the limit new clients wait in the backlog, then get served", { timeout: 60_000 }, async () => {
  const server = await echoServer();
  await withProxy(server, async (proxy) => {
    const first = await Promise.all([connect(proxy.port), connect(proxy.port)]);
    for (const c of first) c.socket.write("a");
    await eventually(() => first.every((c) => c.received.bytes === 1));
    const third = await connect(proxy.port);
    third.socket.write("b");
    await sleep(300);
    assert.equal(third.received.bytes, 0, "third is not served while two are open");
    assert.equal((await proxy.stats()).totals.connections_active, 2);
    first[0].socket.end();
    await eventually(() => third.received.bytes === 1);
    for (const c of [first[1], third]) c.socket.end();
  }, ["--max-connections", "2", "--workers", "2"]);
});

test("tcp: connect timeout: a silent upstream is skipped for the next one", { timeout: 60_000 }, async () => {
  // A listener that never accepts, with its accept queue filled, drops further SYNs:
  // connecting to it can only time out. All on 127.0.0.1.
  const sys = await loadSys();
  const silentFd = openListener(sys, { host: "127.0.0.1", port: 0 }, 0);
  const silentPort = localAddress(sys, silentFd).port;
  const filler = await connect(silentPort);
  const server = await echoServer();
  try {
    await withProxy([silentPort, server.port], async (proxy) => {
      const client = await connect(proxy.port);
      client.socket.end("hi");
      await client.closed;
      assert.equal(client.received.bytes, 2, "served by the second upstream");
      const stats = await idle(proxy);
      assert.equal(stats.totals.connect_timeouts, 1);
      assert.equal(stats.upstreams[`tcp/127.0.0.1:${silentPort}`].connect_timeouts, 1);
    }, ["--connect-timeout", "300ms", "--workers", "1"]);
  } finally {
    filler.socket.destroy();
    sys.close(silentFd);
    await server.close();
  }
});

test("tcp: idle timeout closes a silent connection", { timeout: 60_000 }, async () => {
  const server = await echoServer();
  await withProxy(server, async (proxy) => {
    const client = await connect(proxy.port);
    client.socket.write("x");
    await client.ended;
    client.socket.destroy();
    assert.equal(client.received.bytes, 1);
    const stats = await idle(proxy);
    assert.equal(stats.totals.idle_timeouts, 1);
  }, ["--idle-timeout", "400ms"]);
});
