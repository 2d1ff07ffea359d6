/**
 * Processes and ports: a worker that throws is replaced without touching the
 * other workers' connections; a port another process holds (another spliced
 * included) fails the start; reloads leave no generation behind.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import process from "node:process";
import { test } from "node:test";
import { startProxy, type Proxy } from "../src/mod.ts";
import { connect, echoServer, type UpstreamConn } from "./helpers/peers.ts";
import { eventually, runCli, sleep, startSpliced } from "./helpers/spliced.ts";

/** Sends `text` and resolves with what came back once as many bytes arrived (or the proxy closed its side). */
async function echoOnce(conn: UpstreamConn, text: string): Promise<string> {
  const start = conn.received.bytes;
  const chunks: Buffer[] = [];
  const onData = (d: Buffer) => chunks.push(d);
  conn.socket.on("data", onData);
  conn.socket.write(text);
  let ended = false;
  conn.ended.then(() => (ended = true));
  await eventually(() => ended || conn.received.bytes - start >= text.length, 5_000);
  conn.socket.off("data", onData);
  return Buffer.concat(chunks).toString();
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function clientPort(conn: UpstreamConn): Promise<number> {
  return (conn.socket.address() as net.AddressInfo).port;
}

test("a worker that throws is replaced; the other worker's connections are untouched", { timeout: 60_000 }, async () => {
  process.env.SPLICED_TEST_HOOKS = "1";
  const upstream = await echoServer();
  const proxy: Proxy = await startProxy({ workers: 2, listeners: [{ name: "echo", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${upstream.port}`] }] });
  const conns: UpstreamConn[] = [];
  try {
    const { port } = proxy.address("echo");
    for (let i = 0; i < 16; i++) {
      const c = await connect(port);
      assert.equal(await echoOnce(c, `hello ${i}\n`), `hello ${i}\n`);
      conns.push(c);
    }
    const list = await proxy.connections(100);
    const workerOf = new Map(list.map((c) => [Number(c.client.slice(c.client.lastIndexOf(":") + 1)), c.worker]));
    const onZero = (await Promise.all(conns.map(clientPort))).map((p) => workerOf.get(p) === 0);
    assert.equal(workerOf.size, 16, "every connection is listed with its worker");

    assert.equal(proxy.injectWorkerFault(0), true);
    // While it is down, /ready says so.
    let sawDown = false;
    await eventually(() => {
      sawDown ||= proxy.readiness().reasons.some((r) => /worker 0 failed/.test(r));
      return proxy.stats().worker_restarts === 1;
    }, 20_000);
    assert.equal(proxy.stats().worker_restarts, 1);
    assert.ok(sawDown, "readiness reported the failed worker while it was down");
    assert.deepEqual(proxy.readiness(), { ready: true, reasons: [] });
    assert.equal(proxy.stats().workers_down, 0);

    for (let i = 0; i < conns.length; i++) {
      const text = `after the fault ${i} `.repeat(100);
      const back = await echoOnce(conns[i], text);
      if (onZero[i]) {
        assert.equal(back, "", `connection ${i} on the failed worker echoes nothing more`);
        let ended = false;
        conns[i].ended.then(() => (ended = true));
        assert.ok(await eventually(() => ended, 5_000), `connection ${i} on the failed worker was closed`);
      }
      else assert.equal(digest(back), digest(text), `connection ${i} on the other worker still echoes`);
    }
    // New connections are served, by both workers.
    for (let i = 0; i < 16; i++) {
      const c = await connect(proxy.address("echo").port);
      assert.equal(await echoOnce(c, `new ${i}`), `new ${i}`);
      conns.push(c);
    }
    const after = await proxy.connections(100);
    assert.ok(after.every((c) => c.worker === 0 || c.worker === 1));
  } finally {
    for (const c of conns) c.socket.destroy();
    delete process.env.SPLICED_TEST_HOOKS;
    await proxy.close(0);
    await upstream.close();
  }
});

test("the fault hook is off unless SPLICED_TEST_HOOKS=1", async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  try {
    assert.equal(proxy.injectWorkerFault(0), false);
  } finally {
    await proxy.close(0);
  }
});

test("a port another spliced listens on fails with address already in use", { timeout: 60_000 }, async () => {
  const upstream = await echoServer();
  const first = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`, "--workers", "2"]);
  try {
    const second = await runCli(["tcp", "--listen", `127.0.0.1:${first.port}`, "--to", `127.0.0.1:${upstream.port}`]);
    assert.equal(second.code, 1, second.stderr);
    assert.equal(second.stderr.trim(), `spliced: listen 127.0.0.1:${first.port}: address already in use`);
    // The first still serves every connection (none went to a second process).
    for (let i = 0; i < 8; i++) {
      const c = await connect(first.port);
      assert.equal(await echoOnce(c, `x${i}`), `x${i}`);
      c.socket.destroy();
    }
  } finally {
    await first.stop();
    await upstream.close();
  }
});

test("a port a plain socket listens on fails the same way", async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runCli(["tcp", "--listen", `127.0.0.1:${port}`, "--to", "127.0.0.1:1"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `spliced: listen 127.0.0.1:${port}: address already in use`);
  } finally {
    blocker.close();
  }
});

test("reloads leave no generation behind and keep the counters", { timeout: 120_000 }, async () => {
  const upstream = await echoServer();
  const listener = (weight: number) => ({ name: "echo", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${upstream.port}`], connectTimeout: `${1000 + weight}ms` });
  const proxy = await startProxy({ workers: 1, listeners: [listener(0)] });
  try {
    const port = proxy.address("echo").port;
    const RELOADS = 25;
    for (let i = 1; i <= RELOADS; i++) {
      const c = await connect(port);
      assert.equal(await echoOnce(c, `r${i}`), `r${i}`);
      c.socket.destroy();
      await c.closed;
      await proxy.reload({ workers: 1, listeners: [{ ...listener(i), listen: `127.0.0.1:${port}` }] });
    }
    assert.ok(await eventually(() => proxy.stats().generations_live === 1), `live: ${proxy.stats().generations_live}`);
    await eventually(() => proxy.stats().totals.connections_active === 0);
    const stats = proxy.stats();
    assert.equal(stats.generation, RELOADS + 1);
    assert.equal(stats.totals.connections_total, RELOADS);
    assert.equal(stats.listeners.echo.connections_total, RELOADS);
    assert.equal(stats.totals.connections_active, 0);
    assert.equal(stats.totals.bytes_client_to_upstream, stats.totals.bytes_upstream_to_client);
    await sleep(10);
  } finally {
    await proxy.close(0);
    await upstream.close();
  }
});
