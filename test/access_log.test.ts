/**
 * The access log never blocks a worker: with `--access-log -` on a stdout
 * pipe nobody reads, requests keep being answered, lines that do not fit the
 * queue are dropped and counted (`access_log_dropped` in /stats,
 * `spliced_access_log_dropped_total` in /metrics), and every line that does
 * come through is whole. Reopening (SIGUSR1, `Proxy.reopenLogs()`) moves the
 * log to a new file after logrotate renamed the old one.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { startProxy } from "../src/mod.ts";
import { get, HttpConn, okUpstream, tempDir } from "./helpers/http.ts";
import { parseMetrics, sample } from "./helpers/metrics.ts";
import { BIN, eventually, startSpliced, testRuntime, openedBy } from "./helpers/spliced.ts";

/** A long target makes each line ~1.1 KiB, so a few thousand lines are far more than pipe + queues hold. */
const LONG = "x".repeat(1000);

/** Sends `n` keep-alive requests on each of `conns` connections; every one must be a 200. */
async function drive(port: number, conns: number, n: number, path: (i: number) => string): Promise<void> {
  await Promise.all(Array.from({ length: conns }, async (_, c) => {
    const conn = await HttpConn.open(port);
    for (let i = 0; i < n; i++) {
      const r = await conn.request(get(path(c * n + i)));
      assert.equal(r.status, 200, `request ${c * n + i}`);
    }
    conn.close();
  }));
}

test("access log: a stdout pipe nobody reads never stalls the workers; drops are counted, lines stay whole", { timeout: 120_000 }, async () => {
  const upstream = await okUpstream();
  const args = ["--runtime", testRuntime(), "http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`,
    "--access-log", "-", "--workers", "2", "--admin", "127.0.0.1:0"];
  const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let out = "";
  const onData = (d: Buffer) => (out += d.toString("latin1"));
  child.stdout!.on("data", onData);
  try {
    assert.ok(await eventually(() => /^admin http:\/\/\S+:\d+\//m.test(out), 30_000), `started:\n${out}`);
    // From here on nobody reads stdout: the pipe fills and stays full.
    child.stdout!.off("data", onData);
    child.stdout!.pause();
    const port = Number(/^listener \S+ \S+ \S+:(\d+) ->/m.exec(out)![1]);
    const admin = Number(/^admin http:\/\/\S+:(\d+)\//m.exec(out)![1]);
    const CONNS = 8, EACH = 400, TOTAL = CONNS * EACH;
    await drive(port, CONNS, EACH, (i) => `/${LONG}/${i}`);
    const stats = await (await fetch(`http://127.0.0.1:${admin}/stats`)).json();
    const dropped = stats.totals.access_log_dropped;
    assert.equal(stats.totals.responses_2xx, TOTAL, "every request answered while stdout was stalled");
    assert.ok(dropped > 0, `lines dropped: ${dropped}`);
    assert.equal(Object.values<any>(stats.listeners)[0].access_log_dropped, dropped);
    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text());
    const listener = Object.keys(stats.listeners)[0];
    assert.equal(sample(metrics, "spliced_access_log_dropped_total", { listener }), dropped);

    // Read the pipe again: the queued lines follow; each line is a whole JSON record.
    let rest = "";
    child.stdout!.on("data", (d: Buffer) => (rest += d.toString("utf8")));
    child.stdout!.resume();
    const records = () => rest.split("\n").filter((l) => l.startsWith("{"));
    // Everything not dropped arrives: written + dropped accounts for every request.
    assert.ok(await eventually(() => records().length + dropped === TOTAL, 20_000),
      `${records().length} lines + ${dropped} dropped = ${TOTAL}`);
    const seen = new Set<string>();
    for (const line of rest.split("\n").slice(0, -1)) {
      const r = JSON.parse(line); // throws on a cut or interleaved line
      assert.equal(r.status, 200);
      assert.ok(r.target.startsWith(`/${LONG}/`), "whole target");
      seen.add(r.target);
    }
    assert.equal(seen.size, records().length, "no line written twice");
  } finally {
    child.kill("SIGTERM");
    child.stdout!.resume();
    await exited;
    await upstream.close();
  }
});

test("access log: reopenLogs() after a rename writes new lines to a new file, the old file keeps the old ones", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  const tmp = tempDir();
  const log = join(tmp.dir, "access.log");
  const proxy = await startProxy({
    workers: 2,
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", accessLog: log, routes: [{ upstreams: [`127.0.0.1:${upstream.port}`] }] }],
  });
  const lines = (path: string) => existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  try {
    const { port } = proxy.address("web");
    await drive(port, 4, 5, (i) => `/before/${i}`);
    assert.ok(await eventually(() => lines(log).length === 20), "20 lines before the rename");
    renameSync(log, `${log}.1`);
    assert.equal(openedBy("self", `${log}.1`), 2, "two workers have the renamed file open");
    proxy.reopenLogs();
    assert.ok(await eventually(() => openedBy("self", log) === 2 && openedBy("self", `${log}.1`) === 0), "every worker reopened");
    await drive(port, 4, 5, (i) => `/after/${i}`);
    assert.ok(await eventually(() => lines(log).length === 20), "20 lines in the new file");
    assert.ok(lines(log).every((r) => r.target.startsWith("/after/")), "new file: only new lines");
    const old = lines(`${log}.1`);
    assert.equal(old.length, 20);
    assert.ok(old.every((r) => r.target.startsWith("/before/")), "old file: only old lines");
  } finally {
    await proxy.close(0);
    await upstream.close();
    tmp.remove();
  }
});

test("access log: SIGUSR1 to the CLI reopens the file after logrotate renamed it", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  const tmp = tempDir();
  const log = join(tmp.dir, "access.log");
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`, "--access-log", log, "--workers", "2"]);
  const lines = (path: string) => existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  try {
    await drive(proxy.port, 2, 5, (i) => `/before/${i}`);
    assert.ok(await eventually(() => lines(log).length === 10), "10 lines before the rename");
    renameSync(log, `${log}.1`);
    assert.equal(openedBy(proxy.pid, `${log}.1`), 2, "two workers have the renamed file open");
    process.kill(proxy.pid, "SIGUSR1");
    assert.ok(await eventually(() => openedBy(proxy.pid, log) === 2 && openedBy(proxy.pid, `${log}.1`) === 0), "every worker reopened");
    await drive(proxy.port, 2, 5, (i) => `/after/${i}`);
    assert.ok(await eventually(() => lines(log).length === 10), "10 lines in the new file");
    assert.ok(lines(log).every((r) => r.target.startsWith("/after/")));
    assert.ok(lines(`${log}.1`).every((r) => r.target.startsWith("/before/")));
    assert.equal(lines(`${log}.1`).length, 10);
    assert.equal(proxy.child.exitCode, null, "still running");
  } finally {
    await proxy.stop();
    await upstream.close();
    tmp.remove();
  }
});
