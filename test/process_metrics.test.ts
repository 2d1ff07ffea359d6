/**
 * End-to-end: the standard `process_*` metrics and `spliced_build_info` of a
 * real proxy, checked against what /proc says about the proxy's pid, and the
 * exposition against `promtool check metrics`.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { parseMetrics, promtoolCheck, sample, type Metrics } from "./helpers/metrics.ts";
import { connect, echoServer, exchangeServer, Payload, sendPayload, type UpstreamConn } from "./helpers/peers.ts";
import { eventually, quietFdCount, startSpliced, testRuntime, type SplicedProcess } from "./helpers/spliced.ts";

async function scrape(proxy: SplicedProcess): Promise<{ text: string; m: Metrics }> {
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`, { headers: { connection: "close" } });
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, m: parseMetrics(text) };
}

const value = (m: Metrics, name: string) => {
  const v = sample(m, name, {});
  assert.ok(v !== undefined, `${name} is exposed`);
  return v;
};

/** Fields of /proc/PID/stat after the command name (index 0 is field 3, `state`). */
function statFields(pid: number | string): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
}

/** utime + stime of /proc/PID/stat (or of one task), seconds (USER_HZ 100). */
function cpuSeconds(path: string): number {
  const f = statFields(path);
  return (Number(f[14 - 3]) + Number(f[15 - 3])) / 100;
}

test("process metrics: open and max fds, start time, CPU and memory agree with /proc/PID; build info names the build", { timeout: 120_000 }, async () => {
  const spawnedAt = Date.now() / 1000;
  const echo = await echoServer();
  const bulk = await exchangeServer(64 * 1024 * 1024);
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${echo.port}`, "--workers", "2"]);
  const bulkProxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${bulk.port}`, "--workers", "2"]);
  const startedAt = Date.now() / 1000;
  const held: UpstreamConn[] = [];
  try {
    // Open fds: the scrape's own admin connection may be open while it is counted (+1), and the
    // runtime may hold a socket of an earlier request for a moment: a tolerance of 3.
    const quiet = await quietFdCount(proxy);
    const idle = await scrape(proxy);
    const openIdle = value(idle.m, "process_open_fds");
    assert.ok(Math.abs(openIdle - quiet) <= 3, `process_open_fds ${openIdle}, /proc/${proxy.pid}/fd has ${quiet}`);

    // 20 proxied connections held open: at least a client and an upstream socket each.
    for (let i = 0; i < 20; i++) held.push(await connect(proxy.port));
    assert.ok(await eventually(async () => (await proxy.stats()).totals.connections_active === 20));
    const busyQuiet = await quietFdCount(proxy);
    const openBusy = value((await scrape(proxy)).m, "process_open_fds");
    assert.ok(Math.abs(openBusy - busyQuiet) <= 3, `process_open_fds ${openBusy}, /proc/${proxy.pid}/fd has ${busyQuiet}`);
    assert.ok(openBusy - openIdle >= 40, `20 connections add >= 40 fds: ${openIdle} -> ${openBusy}`);

    const limits = readFileSync(`/proc/${proxy.pid}/limits`, "utf8");
    const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
    assert.equal(value(idle.m, "process_max_fds"), soft, "process_max_fds is the soft RLIMIT_NOFILE");

    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    const start = value(idle.m, "process_start_time_seconds");
    assert.ok(Math.abs(start - (btime + Number(statFields(proxy.pid)[22 - 3]) / 100)) < 0.011, `start ${start}`);
    // btime is whole seconds: the computed start may read up to 1 s early.
    assert.ok(start >= spawnedAt - 1.5 && start <= startedAt + 0.5, `start ${start} within [${spawnedAt}, ${startedAt}]`);

    // CPU spent in the data-plane worker threads counts: move 64 MiB each way through the other proxy.
    const client = await connect(bulkProxy.port);
    const payload = new Payload(64 * 1024 * 1024);
    await sendPayload(client.socket, payload, false);
    assert.ok(await eventually(() => client.received.bytes >= payload.size, 60_000));
    client.socket.end();
    await client.closed;
    const tasks = readdirSync(`/proc/${bulkProxy.pid}/task`).filter((t) => t !== String(bulkProxy.pid));
    const workersCpu = tasks.reduce((s, t) => s + cpuSeconds(`${bulkProxy.pid}/task/${t}`), 0);
    const before = cpuSeconds(String(bulkProxy.pid));
    const bulkScrape = await scrape(bulkProxy);
    const after = cpuSeconds(String(bulkProxy.pid));
    const cpu = value(bulkScrape.m, "process_cpu_seconds_total");
    assert.ok(workersCpu > 0.02, `the other threads did work: ${workersCpu} s`);
    assert.ok(cpu >= before - 0.05 && cpu <= after + 0.05, `process_cpu_seconds_total ${cpu}, /proc says ${before}..${after}`);

    const statm = readFileSync(`/proc/${bulkProxy.pid}/statm`, "utf8").split(" ");
    const rssProc = Number(statm[1]) * 4096;
    const rss = value(bulkScrape.m, "process_resident_memory_bytes");
    assert.ok(Math.abs(rss - rssProc) / rssProc < 0.25, `process_resident_memory_bytes ${rss}, /proc statm ${rssProc}`);

    const stats = await proxy.stats();
    const builds = idle.m.samples.filter((s) => s.name === "spliced_build_info");
    assert.equal(builds.length, 1);
    assert.equal(builds[0].value, 1);
    const { version, runtime, runtime_version, libc, arch } = builds[0].labels;
    assert.equal(version, "0.1.0");
    assert.equal(runtime, testRuntime());
    assert.match(runtime_version, /^\d+\.\d+\.\d+/);
    assert.equal(libc, stats.libc);
    assert.match(libc, /^(glibc \d+\.\d+|musl)$/);
    assert.equal(arch, process.arch === "arm64" ? "aarch64" : "x86_64");
    assert.equal(idle.m.types.get("process_cpu_seconds_total"), "counter");
    for (const g of ["process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds", "spliced_build_info"]) {
      assert.equal(idle.m.types.get(g), "gauge", g);
    }

    for (const text of [idle.text, bulkScrape.text]) {
      const promtool = promtoolCheck(text);
      if (promtool === undefined) console.log("promtool not installed: skipping `promtool check metrics`");
      else assert.equal(promtool.code, 0, `promtool check metrics:\n${promtool.output}`);
    }
  } finally {
    for (const c of held) c.socket.destroy();
    await proxy.stop();
    await bulkProxy.stop();
    await echo.close();
    await bulk.close();
  }
});
