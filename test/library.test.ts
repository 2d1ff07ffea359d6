/**
 * The library API in-process: startProxy, stats, address, close, and the
 * admin app mounted into a user's own Hono app.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { Hono } from "hono";
import { adminApp, ConfigError, startProxy, SysError } from "../src/mod.ts";
import { connect, exchangeServer } from "./helpers/peers.ts";
import { eventually } from "./helpers/spliced.ts";

test("library: startProxy moves bytes, reports stats, closes gracefully", { timeout: 60_000 }, async () => {
  const server = await exchangeServer(100_000);
  const proxy = await startProxy({ workers: 1, listeners: [{ name: "lib", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${server.port}`] }] });
  try {
    const { host, port } = proxy.address("lib");
    assert.equal(host, "127.0.0.1");
    assert.ok(port > 0);
    assert.deepEqual(proxy.address(), proxy.address("lib"));
    const client = await connect(port);
    client.socket.end("hello");
    await client.closed;
    assert.equal(client.received.bytes, 100_000);
    assert.ok(await eventually(() => proxy.stats().totals.connections_active === 0));
    const stats = proxy.stats();
    assert.equal(stats.totals.bytes_client_to_upstream, 5);
    assert.equal(stats.totals.bytes_upstream_to_client, 100_000);
    assert.equal(stats.listeners.lib.listen, `127.0.0.1:${port}`);
  } finally {
    await proxy.close();
    await server.close();
  }
  await proxy.closed;
});

test("library: adminApp mounts inside a user's Hono app", async () => {
  const proxy = await startProxy({ workers: 1, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  try {
    const app = new Hono();
    app.get("/", (c) => c.text("my app"));
    app.route("/proxy", adminApp(proxy, { readsNeedToken: false }));
    const res = await app.request("/proxy/stats");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.totals.connections_total, 0);
    assert.ok("listener0" in body.listeners);
    assert.equal((await app.request("/proxy/nope")).status, 404);
    assert.equal(await (await app.request("/")).text(), "my app");
  } finally {
    await proxy.close(0);
  }
});

test("library: bad config throws ConfigError; busy port throws SysError", async () => {
  await assert.rejects(() => startProxy({ listeners: [] } as never), ConfigError);
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await assert.rejects(
      () => startProxy({ workers: 2, listeners: [{ listen: `127.0.0.1:${port}`, upstreams: ["127.0.0.1:1"] }] }),
      (err: unknown) => err instanceof SysError && err.message === `listen 127.0.0.1:${port}: address already in use`,
    );
  } finally {
    blocker.close();
  }
});
