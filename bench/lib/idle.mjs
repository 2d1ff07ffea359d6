// Idle-connection memory: RSS of a proxy before and after N idle proxied connections.
import net from "node:net";
import { sleep, splicedStats } from "./peers.mjs";
import { treeFds, treeRssKiB } from "./proc.mjs";

/** A server that accepts connections and holds them open, doing nothing. */
export async function startHolder(port) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  server.maxConnections = 100000;
  await new Promise((res, rej) => server.once("error", rej).listen({ port, host: "127.0.0.1", backlog: 4096 }, res));
  return {
    get count() { return sockets.size; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function waitFor(cond, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

/** Opens `n` connections to port, `batch` at a time; returns the sockets (failed ones counted). */
async function openMany(port, n, batch = 250) {
  const sockets = [];
  let failed = 0;
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    await Promise.all(Array.from({ length: k }, () => new Promise((res) => {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.on("error", () => {});
      s.once("connect", () => { sockets.push(s); res(); });
      s.once("close", () => { failed++; res(); });
    })));
  }
  return { sockets, failed };
}

function closeAll(sockets) {
  for (const s of sockets) s.destroy();
}

/** Measures one started proxy `p` (whose upstream is `holder`). */
export async function measureIdle(p, holder, n) {
  const mib = (kib) => kib / 1024;
  // Warm up the accept/connect/close path (JIT, pools), then settle.
  const warm = await openMany(p.port, 50);
  await waitFor(() => holder.count >= warm.sockets.length, 5000);
  closeAll(warm.sockets);
  await waitFor(() => holder.count === 0, 10000);
  await sleep(1500);
  const before = treeRssKiB(p.pid);
  const fdsBefore = treeFds(p.pid);

  const t0 = Date.now();
  const { sockets, failed } = await openMany(p.port, n);
  const allUp = await waitFor(() => holder.count >= n, 30000);
  const openSeconds = (Date.now() - t0) / 1000;
  await sleep(2000);
  const after = treeRssKiB(p.pid);
  const fdsAfter = treeFds(p.pid);
  const stats = await splicedStats(p.admin);
  const held = holder.count;

  closeAll(sockets);
  await waitFor(() => holder.count === 0, 15000);
  await sleep(1000);
  const afterClose = treeRssKiB(p.pid);
  return {
    connections: n,
    opened: sockets.length,
    failed,
    upstreamHeld: held,
    allUp,
    openSeconds,
    rssBeforeMiB: mib(before),
    rssAfterMiB: mib(after),
    addedMiB: mib(after - before),
    bytesPerConn: ((after - before) * 1024) / n,
    rssAfterCloseMiB: mib(afterClose),
    fdsBefore: fdsBefore.fds,
    fdsAfter: fdsAfter.fds,
    pipesAfter: fdsAfter.pipes,
    activeReported: stats?.connections_active ?? null,
    pipesReported: stats?.pipes_open ?? null,
  };
}
