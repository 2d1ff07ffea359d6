/**
 * Zero-downtime upgrade: `spliced --config F --upgrade-from PIDFILE` binds
 * beside the running spliced, becomes ready, then tells it to drain. Clients
 * that keep opening connections the whole time see none refused and none
 * dropped, and every byte comes back.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { deadPort, echoServer } from "./helpers/peers.ts";
import { runCli, sleep, startSpliced } from "./helpers/spliced.ts";

const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

/** One connection: send `size` bytes, expect them echoed, close. Resolves with an error text or "". */
function roundTrip(port: number, size: number): Promise<string> {
  return new Promise((resolve) => {
    const payload = Buffer.alloc(size, Math.floor(Math.random() * 256));
    let got = 0;
    let failed = "";
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
    socket.on("connect", () => socket.end(payload));
    socket.on("data", (d: Buffer) => {
      for (let i = 0; i < d.length; i++) if (d[i] !== payload[got + i]) failed ||= "corrupted";
      got += d.length;
    });
    socket.on("error", (err: NodeJS.ErrnoException) => (failed ||= err.code ?? err.message));
    socket.on("close", () => resolve(failed || (got === size ? "" : `short: ${got} of ${size}`)));
  });
}

/** Clients opening connection after connection until `stop()`; counts outcomes. */
function load(port: number, clients: number) {
  let running = true;
  const outcomes = new Map<string, number>();
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const r = (await roundTrip(port, 4096)) || "ok";
      outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    }
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** Runs `fn` with net.ipv4.tcp_migrate_req set to 1 when this process may set it, restoring it after. */
async function withMigrateReq<T>(fn: () => Promise<T>): Promise<T> {
  let before: string | undefined;
  try {
    before = readFileSync(MIGRATE_REQ, "utf8").trim();
    if (before !== "1") writeFileSync(MIGRATE_REQ, "1");
  } catch {
    before = undefined; // not permitted here: the upgrade then warns, and the test shows what remains
  }
  try {
    return await fn();
  } finally {
    if (before !== undefined && before !== "1") writeFileSync(MIGRATE_REQ, before);
  }
}

test("upgrade: no connection refused or dropped across the hand-over", { timeout: 120_000 }, async () => {
  const upstream = await echoServer();
  const tmp = tempDir("spliced-upgrade-");
  const port = await deadPort();
  const pidFile = `${tmp.dir}/spliced.pid`;
  const config = writeConfig(tmp.dir, {
    workers: 2, gracePeriod: "10s", admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "echo", listen: `127.0.0.1:${port}`, upstreams: [`127.0.0.1:${upstream.port}`] }],
  });
  await withMigrateReq(async () => {
    const old = await startSpliced(["--config", config, "--pid-file", pidFile]);
    let next: Awaited<ReturnType<typeof startSpliced>> | undefined;
    try {
      assert.equal(readFileSync(pidFile, "utf8").trim(), String(old.pid));
      const traffic = load(port, 4);
      await sleep(500);
      next = await startSpliced(["--config", config, "--upgrade-from", pidFile, "--pid-file", pidFile]);
      assert.equal(await old.exited, 0, old.output());
      await sleep(500);
      const outcomes = await traffic.stop();
      const failures = [...outcomes].filter(([k]) => k !== "ok");
      assert.deepEqual(failures, [], `outcomes: ${JSON.stringify([...outcomes])}`);
      assert.ok((outcomes.get("ok") ?? 0) > 20, `connections made: ${outcomes.get("ok")}`);
      assert.match(next.output(), new RegExp(`upgrade: serving beside pid ${old.pid}`));
      assert.equal(readFileSync(pidFile, "utf8").trim(), String(next.pid));
      assert.equal(await roundTrip(port, 100_000), "", "the new process serves on its own");
      assert.equal(await next.stop(), 0);
      assert.equal(existsSync(pidFile), false, "the pid file goes with the process that wrote it");
    } finally {
      await old.stop();
      await next?.stop();
      await upstream.close();
      tmp.remove();
    }
  });
});

test("upgrade: a pid file that names no running process is refused before binding", async () => {
  const tmp = tempDir("spliced-upgrade-");
  try {
    const missing = await runCli(["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1", "--upgrade-from", `${tmp.dir}/none.pid`]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim().split("\n")[0], `--upgrade-from: ${tmp.dir}/none.pid: pid file not found`);
    writeFileSync(`${tmp.dir}/dead.pid`, "999999999\n");
    const dead = await runCli(["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1", "--upgrade-from", `${tmp.dir}/dead.pid`]);
    assert.equal(dead.code, 2);
    assert.equal(dead.stderr.trim().split("\n")[0], `--upgrade-from: ${tmp.dir}/dead.pid: process 999999999 is not running`);
  } finally {
    tmp.remove();
  }
});
