/**
 * Reload (SIGHUP and the library call) keeps open connections and listening
 * sockets; an invalid file changes nothing. Also the connection list and
 * histograms the admin API builds on.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { ConfigError, startProxy } from "../src/mod.ts";
import { connect, echoServer, exchangeServer } from "./helpers/peers.ts";
import { eventually, startSpliced } from "./helpers/spliced.ts";

const dir = mkdtempSync(join(tmpdir(), "spliced-reload-"));

test("reload: SIGHUP switches upstreams; the open connection keeps its upstream; same port", { timeout: 60_000 }, async () => {
  const a = await echoServer();
  const b = await exchangeServer(5);
  const path = join(dir, "hup.json");
  const write = (port: number) => writeFileSync(path, JSON.stringify({
    workers: 2, admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${port}`] }],
  }));
  write(a.port);
  const proxy = await startSpliced(["--config", path]);
  try {
    const old = await connect(proxy.port);
    old.socket.write("before");
    await eventually(() => old.received.bytes === 6);
    // Port 0 in the new file means "a new port": keep the bound one by writing it back.
    writeFileSync(path, JSON.stringify({
      workers: 2, admin: { listen: "127.0.0.1:0" },
      listeners: [{ name: "svc", listen: `127.0.0.1:${proxy.port}`, upstreams: [`127.0.0.1:${b.port}`] }],
    }));
    process.kill(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => /reloaded/.test(proxy.output())), proxy.output());
    const fresh = await connect(proxy.port);
    fresh.socket.end("x");
    await fresh.closed;
    assert.equal(fresh.received.bytes, 5, "new connection goes to the new upstream");
    old.socket.end("after");
    await old.closed;
    assert.equal(old.received.bytes, 11, "old connection kept working through the reload");
    const stats = await proxy.stats();
    assert.equal(stats.generation, 2);
    assert.equal(stats.totals.connections_total, 2);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});

test("reload: an invalid file changes nothing", { timeout: 60_000 }, async () => {
  const a = await echoServer();
  const path = join(dir, "bad.json");
  writeFileSync(path, JSON.stringify({ workers: 1, listeners: [{ listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`] }] }));
  const proxy = await startProxy(JSON.parse('{"workers":1,"listeners":[{"listen":"127.0.0.1:0","upstreams":["127.0.0.1:' + a.port + '"]}]}'), { configPath: path });
  try {
    writeFileSync(path, JSON.stringify({ workers: 1, listeners: [{ listen: "127.0.0.1:0", upstreams: [] }] }));
    await assert.rejects(() => proxy.reload(), (err: unknown) =>
      err instanceof ConfigError && /bad\.json: listeners\[0\]\.upstreams: needs at least one upstream/.test(err.message));
    assert.equal(proxy.stats().generation, 1);
    const client = await connect(proxy.address().port);
    client.socket.end("still here");
    await client.closed;
    assert.equal(client.received.bytes, 10);
  } finally {
    await proxy.close(0);
    await a.close();
  }
});

test("library: connections() lists open connections; histograms count them", { timeout: 60_000 }, async () => {
  const a = await echoServer();
  const proxy = await startProxy({ workers: 2, listeners: [{ name: "l", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`] }] });
  try {
    const clients = await Promise.all([1, 2, 3].map(() => connect(proxy.address().port)));
    for (const c of clients) c.socket.write("abc");
    await eventually(() => clients.every((c) => c.received.bytes === 3));
    const list = await proxy.connections(10);
    assert.equal(list.length, 3);
    for (const c of list) {
      assert.equal(c.listener, "l");
      assert.equal(c.upstream, `l/127.0.0.1:${a.port}`);
      assert.equal(c.state, "open");
      assert.equal(c.bytes_client_to_upstream, 3);
      assert.equal(c.bytes_upstream_to_client, 3);
      assert.match(c.client, /^127\.0\.0\.1:\d+$/);
    }
    assert.equal((await proxy.connections(2)).length, 2);
    for (const c of clients) c.socket.end();
    await Promise.all(clients.map((c) => c.closed));
    await eventually(() => proxy.stats().totals.connections_active === 0);
    const h = proxy.histograms();
    assert.equal(h.totals.connection_duration_seconds.count, 3);
    assert.equal(h.upstreams[`l/127.0.0.1:${a.port}`].upstream_connect_seconds.count, 3);
    // Three short connections: all three land in finite buckets (the largest is 1 h).
    assert.equal(h.listeners.l.connection_duration_seconds.buckets.reduce((x, y) => x + y, 0), 3);
  } finally {
    await proxy.close(0);
    await a.close();
  }
});

test("reload: a config whose static root or log directory is missing is refused whole; the old one keeps serving", async () => {
  const up = await echoServer();
  const proxy = await startProxy({ workers: 1, listeners: [{ name: "e", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${up.port}`] }] });
  try {
    const port = proxy.address("e").port;
    const bad = {
      workers: 1,
      listeners: [
        { name: "e", listen: `127.0.0.1:${port}`, upstreams: [`127.0.0.1:${up.port}`] },
        { name: "files", mode: "http", listen: "127.0.0.1:0", accessLog: join(dir, "no/such/dir/x.log"), routes: [{ static: { root: join(dir, "none") } }] },
      ],
    };
    const err = await proxy.reload(bad as never).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ["listeners[1].accessLog", "listeners[1].routes[0].static.root"]);
    assert.equal(proxy.stats().generation, 1);
    const c = await connect(port);
    c.socket.end("still here");
    await c.closed;
    assert.equal(c.received.text(), "still here");
  } finally {
    await proxy.close(0);
    await up.close();
  }
});
