/**
 * End-to-end: bytes through a real spliced process, both directions at once,
 * compared by SHA-256; counters equal the bytes moved; no fd leaks.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, exchangeServer, Payload, sendPayload } from "./helpers/peers.ts";
import { eventually, quietFdCount, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";

const SIZES = [0, 1, 64 * 1024, 1024 * 1024 + 1, 200 * 1024 * 1024];

/** Sends `up` bytes client→upstream while the upstream sends `down` bytes back; checks both hashes. */
async function exchange(proxy: SplicedProcess, server: Awaited<ReturnType<typeof exchangeServer>>, up: number, down: number) {
  const before = server.connections.length;
  const client = await connect(proxy.port);
  const payload = new Payload(up);
  await sendPayload(client.socket, payload, false);
  // End our side once the upstream's bytes are in: Deno's node:net upstream shuts its
  // write side as soon as it reads EOF, even with allowHalfOpen, cutting its own reply.
  assert.ok(await eventually(() => client.received.bytes >= down, 60_000), "client received everything");
  client.socket.end();
  await client.ended;
  await client.closed;
  const conn = server.connections[before];
  await conn.closed;
  assert.equal(client.received.bytes, down, "bytes the client received");
  assert.equal(conn.received.bytes, up, "bytes the upstream received");
  assert.equal(client.received.digest(), conn.sentDigest, "SHA-256 upstream → client");
  assert.equal(conn.received.digest(), payload.digest(), "SHA-256 client → upstream");
}

/** Waits until no connection is open and the idle pipes were trimmed; returns the stats. */
async function settled(proxy: SplicedProcess): Promise<any> {
  let stats: any;
  const ok = await eventually(async () => {
    stats = await proxy.stats();
    return stats.totals.connections_active === 0 && stats.totals.pipes_open === 0;
  }, 15_000);
  assert.ok(ok, `proxy did not settle: ${JSON.stringify(stats?.totals)}`);
  return stats;
}

for (const size of SIZES) {
  test(`tcp: ${size} B each way at once, SHA-256 equal, counters exact, spliced`, { timeout: 120_000 }, async () => {
    const server = await exchangeServer(size);
    const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`, "--workers", "2"]);
    try {
      await settled(proxy);
      const fdsBefore = await quietFdCount(proxy);
      await exchange(proxy, server, size, size);
      const stats = await settled(proxy);
      const t = stats.totals;
      assert.equal(t.connections_total, 1);
      assert.equal(t.bytes_client_to_upstream, size);
      assert.equal(t.bytes_upstream_to_client, size);
      assert.equal(t.bytes_spliced + t.bytes_copied, 2 * size);
      assert.equal(t.bytes_spliced, 2 * size, "payload went through splice");
      assert.equal(t.errors, 0);
      const up = stats.upstreams[`tcp/127.0.0.1:${server.port}`];
      assert.equal(up.bytes_client_to_upstream, size);
      assert.equal(up.bytes_upstream_to_client, size);
      assert.equal(stats.listeners.tcp.connections_total, 1);
      assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore, "fd count back to where it was");
    } finally {
      await proxy.stop();
      await server.close();
    }
  });
}

test("tcp: uneven sizes, many sequential connections, counters sum exactly", { timeout: 120_000 }, async () => {
  const down = 300_000;
  const server = await exchangeServer(down);
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`]);
  try {
    await settled(proxy);
    const fdsBefore = await quietFdCount(proxy);
    let upTotal = 0;
    for (let i = 0; i < 20; i++) {
      const up = 1000 * i * i + i;
      upTotal += up;
      await exchange(proxy, server, up, down);
    }
    const stats = await settled(proxy);
    assert.equal(stats.totals.connections_total, 20);
    assert.equal(stats.totals.bytes_client_to_upstream, upTotal);
    assert.equal(stats.totals.bytes_upstream_to_client, 20 * down);
    assert.equal(stats.workers.reduce((s: number, w: any) => s + w.connections_total, 0), 20);
    assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore);
  } finally {
    await proxy.stop();
    await server.close();
  }
});
