// HTTP benchmark: wrk -t1 -c32 against an nginx origin serving 1 KiB and 1 MiB files: direct,
// spliced http (Deno, Bun; 1 and 2 workers), HAProxy mode http (plus forced splice for 1 MiB),
// nginx proxy, a Bun fetch proxy; then spliced static vs nginx sendfile for the 1 MiB file.
// Interleaved rounds, medians of req/s, latency, GB/s and CPU-seconds of the proxy's process tree.
//   node bench/http.mjs [--quick] [--rounds N] [--time S] [--only a,b] [--skip-strace]
//                       [--spliced-root DIR] [--baseline-root DIR [--no-current]] [--request-id]
// --request-id adds "spliced http deno|bun w1 +requestId" (the 1 KiB case, the listener's requestId on)
// to the same interleaved rounds: the cost of request ids on small requests.
// --baseline-root adds "spliced http deno|bun w1 (before)" from that checkout to the same interleaved
// rounds, and an "after ÷ before" table; --no-current then leaves out this checkout's spliced peers.
// Results: a markdown report on stdout and in bench/out/http-*/ (gitignored).
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { baseEnvironment, version } from "./lib/env.mjs";
import { freePorts, isListening, launch, sleep, splicedStats, stopProc, waitReady } from "./lib/peers.mjs";
import { CLK_TCK, foreignCpu, machineTicks, snapshot, treeCpuSeconds, treeCtxSwitches, treePids } from "./lib/proc.mjs";
import { parseStraceSummary } from "./lib/strace.mjs";
import { FILES, httpPeerDefs, makeDocroot, startOrigin } from "./lib/http_peers.mjs";
import { httpReport } from "./lib/http_report.mjs";
import { wrk, wrkScript } from "./lib/http_wrk.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");

const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    time: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    connections: { type: "string", default: "32" },
    only: { type: "string" },
    "skip-strace": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    // Benchmark the spliced of another checkout (e.g. a branch), with this bench.
    "spliced-root": { type: "string" },
    // The "before" checkout (e.g. a git worktree of the previous data plane), run in the same rounds.
    "baseline-root": { type: "string" },
    // With --baseline-root: measure only the baseline's spliced peers (e.g. while src/ is mid-rewrite).
    "no-current": { type: "boolean", default: false },
    "request-id": { type: "boolean", default: false },
  },
});
if (opt.quick) Object.assign(opt, { rounds: "1", time: "2" });
const ROUNDS = Number(opt.rounds);
const TIME = Number(opt.time);
const WARMUP = Number(opt.warmup);
const CONNS = Number(opt.connections);
const splicedRoot = path.resolve(opt["spliced-root"] ?? root);
const baselineRoot = opt["baseline-root"] ? path.resolve(opt["baseline-root"]) : null;
if (opt["no-current"] && !baselineRoot) {
  console.error("bench/http.mjs: --no-current needs --baseline-root");
  process.exit(2);
}
const NOISE_CORES = 0.15; // other load above this many cores during a run: measure again once

const outDir = path.join(here, "out");
const stamp = new Date().toISOString().replace(/[:T]/g, "-").replace(/\..*/, "");
const runDir = path.join(outDir, `http-${stamp}`);
fs.mkdirSync(runDir, { recursive: true });
const log = (...a) => console.error(`[http ${new Date().toISOString().slice(11, 19)}]`, ...a);


/** Whether `dir`'s src/ or ffi/ differ from its commit (version() prints "?" for empty output). */
function dirty(dir) {
  const r = spawnSync("git", ["-C", dir, "status", "--porcelain", "src", "ffi"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "";
}

function environment() {
  return {
    ...baseEnvironment(root),
    wrk: version("wrk", ["-v"]),
    spliced: version(path.join(splicedRoot, "bin/spliced"), ["--version"]),
    splicedCommit: version("git", ["-C", splicedRoot, "log", "-1", "--format=%h %s"]) +
      (dirty(splicedRoot) ? " (+ uncommitted changes in src/ffi)" : ""),
    current: !opt["no-current"],
    ...(baselineRoot ? {
      baselineRoot,
      baselineCommit: version("git", ["-C", baselineRoot, "log", "-1", "--format=%h %s"]) +
        (dirty(baselineRoot) ? " (+ uncommitted changes in src/ffi)" : ""),
    } : {}),
  };
}

/** A hash of the spliced code under test (src/, ffi/, bin/): the run warns if it changed mid-run. */
function codeHash(dirRoot = splicedRoot) {
  const h = crypto.createHash("sha1");
  const walk = (dir) => {
    let entries;
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(p).update(fs.readFileSync(p));
    }
  };
  for (const d of ["src", "ffi", "bin"]) walk(path.join(dirRoot, d));
  return h.digest("hex").slice(0, 12);
}

function precheck() {
  const missing = ["wrk", "nginx", "haproxy", "strace"].filter((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status !== 0);
  if (missing.length) {
    console.error(`bench/http.mjs: missing ${missing.join(", ")}; install with: apt-get install -y wrk nginx haproxy strace`);
    process.exit(1);
  }
  for (const dir of [splicedRoot, ...(baselineRoot ? [baselineRoot] : [])]) {
    for (const rt of ["deno", "bun"]) {
      if (!fs.existsSync(path.join(dir, "node_modules/.bin", rt))) {
        console.error(`bench/http.mjs: ${rt} missing: run npm install in ${dir}`);
        process.exit(1);
      }
    }
  }
}

/** Steal ticks of the whole machine (time the hypervisor gave our vCPUs to someone else). */
function stealTicks() {
  return Number(fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/)[8] ?? 0);
}

/** The 1/5/15-minute load averages, as /proc/loadavg prints them. */
function loadavg() {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

let quietBudgetMs = 90000; // total time the whole run may wait for other load to pass

/** Waits (within a run-wide budget) until the box is quiet: other load would skew CPU numbers. */
async function waitQuiet() {
  for (;;) {
    const a = machineTicks();
    await sleep(300);
    const b = machineTicks();
    const busy = ((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length;
    if (busy < 0.25 || quietBudgetMs <= 0) return;
    log(`  box busy (${busy.toFixed(2)} cores) before a run, waiting`);
    await sleep(2000);
    quietBudgetMs -= 2300;
  }
}

/** One measured wrk run of `file` through a started peer `p`; `origin` is the nginx origin. */
async function measure(peer, p, file, origin, script) {
  await waitQuiet();
  const statsBefore = await splicedStats(p.admin);
  let wrkPid = null;
  const m0 = machineTicks();
  const st0 = stealTicks();
  const s0 = snapshot();
  const cs0 = p.pid ? treeCtxSwitches(p.pid, s0) : null;
  const self0 = process.cpuUsage();
  const r = await wrk(`http://127.0.0.1:${p.port}/${file}`, { seconds: TIME, connections: CONNS, script, onStart: (pid) => { wrkPid = pid; } });
  const self1 = process.cpuUsage(self0);
  const s1 = snapshot();
  const cs1 = p.pid ? treeCtxSwitches(p.pid, s1) : null;
  const m1 = machineTicks();
  const st1 = stealTicks();
  const statsAfter = await splicedStats(p.admin);

  const ours = new Set([process.pid, origin.pid, ...treePids(s0, origin.pid), ...treePids(s1, origin.pid)]);
  if (wrkPid) ours.add(wrkPid);
  if (p.pid) for (const pid of [...treePids(s0, p.pid), ...treePids(s1, p.pid)]) ours.add(pid);
  const cpu = (pid, user = false) => (pid ? treeCpuSeconds(s1, pid, { user }) - treeCpuSeconds(s0, pid, { user }) : null);
  const proxyCpu = cpu(p.pid);
  const proxyUser = cpu(p.pid, true);
  const originCpu = cpu(origin.pid);
  // wrk was reaped by this process: its CPU is in our cutime/cstime, ours (cpuUsage) taken out.
  const selfTicks = (s) => s.get(process.pid)?.ticks ?? 0;
  const clientCpu = (selfTicks(s1) - selfTicks(s0)) / CLK_TCK - (self1.user + self1.system) / 1e6;
  const wall = (m1.total - m0.total) / os.cpus().length / CLK_TCK;
  const gb = r.bytes / 1e9;
  const foreign = foreignCpu(s0, s1, ours);
  const d = (k) => (statsBefore && statsAfter ? (statsAfter[k] ?? 0) - (statsBefore[k] ?? 0) : null);
  // The server whose CPU a static comparison uses: the proxy, or nginx itself when direct.
  const serverCpu = peer.kind === "direct" ? originCpu : proxyCpu;
  return {
    peer: peer.name, kind: peer.kind, group: peer.group, file, bodyBytes: FILES[file],
    ...r, text: undefined,
    proxyCpuSeconds: proxyCpu,
    proxyCores: proxyCpu === null ? null : proxyCpu / r.seconds,
    proxyUserShare: proxyCpu ? proxyUser / proxyCpu : null,
    cpuPer1kReq: proxyCpu === null ? null : (proxyCpu / r.requests) * 1000,
    cpuPerGB: proxyCpu === null ? null : proxyCpu / gb,
    originCpuSeconds: originCpu,
    originCores: originCpu / r.seconds,
    serverCpuPerGB: serverCpu === null ? null : serverCpu / gb,
    clientCores: clientCpu / r.seconds,
    wakeupsPerReq: cs0 ? (cs1.voluntary - cs0.voluntary) / r.requests : null,
    foreignCores: foreign.seconds / wall,
    foreignTop: foreign.top,
    stealCores: (st1 - st0) / CLK_TCK / wall,
    machineBusyCores: ((m1.busy - m0.busy) / (m1.total - m0.total)) * os.cpus().length,
    loadavg: loadavg(),
    boxCpuPer1kReq: (((m1.busy - m0.busy) / CLK_TCK - foreign.seconds) / r.requests) * 1000,
    splicedBytes: d("bytes_spliced"),
    copiedBytes: d("bytes_copied"),
    sendfileBytes: d("bytes_sendfile"),
    splicedRequests: d("requests_total"),
  };
}

const failures = [];

function fmtRun(m) {
  const parts = [`${m.reqPerSec.toFixed(0)} req/s`, `p50 ${m.p50Ms.toFixed(2)} p99 ${m.p99Ms.toFixed(2)} ms`];
  if (m.bodyBytes >= 1 << 20) parts.push(`${m.gbPerSec.toFixed(2)} GB/s`);
  if (m.proxyCpuSeconds !== null) {
    parts.push(m.bodyBytes >= 1 << 20 ? `${m.cpuPerGB.toFixed(3)} CPU-s/GB` : `${m.cpuPer1kReq.toFixed(4)} CPU-s/1k req`);
    parts.push(`proxy ${m.proxyCores.toFixed(2)} cores`);
  }
  parts.push(`origin ${m.originCores.toFixed(2)}`, `wrk ${m.clientCores.toFixed(2)}`, `other ${m.foreignCores.toFixed(2)} cores`);
  if (m.stealCores > 0.02) parts.push(`steal ${m.stealCores.toFixed(2)} cores`);
  if (m.errorCount) parts.push(`ERRORS ${JSON.stringify(m.errors)}`);
  if (m.copiedBytes) parts.push(`copied ${m.copiedBytes} B`);
  return parts.join(", ");
}

async function rounds(peers, ports, origin, docroot, script) {
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no peer always runs first or last.
    const order = peers.map((_, i) => peers[(i + round) % peers.length]);
    for (const peer of order) {
      const ctx = { ...ports.get(peer.name), origin: origin.port, dir: tmpDir, root: splicedRoot, docroot };
      log(`round ${round + 1} ${peer.name}: loadavg ${loadavg()}`);
      let p;
      try {
        p = await peer.start(ctx);
      } catch (err) {
        log(`round ${round + 1} ${peer.name}: did not start, skipped: ${String(err.message ?? err).split("\n").slice(0, 4).join(" | ")}`);
        failures.push({ peer: peer.name, round: round + 1, error: String(err.message ?? err) });
        continue;
      }
      try {
        for (const file of peer.sizes) {
          const warm = await wrk(`http://127.0.0.1:${p.port}/${file}`, { seconds: WARMUP, connections: CONNS, script }); // not measured
          if (warm.errorCount) log(`  warm-up ${peer.name} ${file}: errors ${JSON.stringify(warm.errors)} of ${warm.requests}`);
          await sleep(200);
          let m = await measure(peer, p, file, origin, script);
          if (m.foreignCores > NOISE_CORES) {
            log(`  noisy (${m.foreignCores.toFixed(2)} cores of other load: ${m.foreignTop.join(", ")}), measuring again`);
            await sleep(1000);
            const again = await measure(peer, p, file, origin, script);
            m = again.foreignCores < m.foreignCores ? again : m;
            m.remeasured = true;
          }
          m.round = round + 1;
          results.push(m);
          log(`round ${round + 1} ${peer.name.padEnd(30)} ${file.padEnd(6)}: ${fmtRun(m)}`);
          await sleep(200);
        }
      } catch (err) {
        log(`round ${round + 1} ${peer.name}: failed: ${err.message ?? err}`);
        failures.push({ peer: peer.name, round: round + 1, error: String(err.message ?? err) });
      } finally {
        await p.stop();
      }
    }
  }
  return results;
}

/** strace -f -c of a peer during an unmeasured wrk run: syscalls per request. */
async function straceRuns(peers, ports, origin, docroot, script) {
  const B = " (before)";
  const plan = [
    ["spliced http deno w1", "1k.bin"], ["spliced http bun w1", "1k.bin"],
    ["spliced http deno w1" + B, "1k.bin"], ["spliced http bun w1" + B, "1k.bin"], ["HAProxy http 1 thread", "1k.bin"],
    ["spliced http deno w1", "1m.bin"], ["spliced http bun w1", "1m.bin"],
    ["spliced http deno w1" + B, "1m.bin"], ["spliced http bun w1" + B, "1m.bin"], ["HAProxy http 1 thread, splice", "1m.bin"],
    ["spliced static bun w1", "1m.bin"],
  ];
  const out = [];
  for (const [name, file] of plan) {
    const peer = peers.find((x) => x.name === name);
    if (!peer) continue;
    let p;
    try {
      p = await peer.start({ ...ports.get(peer.name), origin: origin.port, dir: tmpDir, root: splicedRoot, docroot });
    } catch (err) {
      failures.push({ peer: name, round: "strace", error: String(err.message ?? err) });
      continue;
    }
    try {
      await wrk(`http://127.0.0.1:${p.port}/${file}`, { seconds: 1, connections: CONNS, script });
      const outFile = path.join(runDir, `strace-${name.replace(/[^a-z0-9]+/gi, "-")}-${file}.txt`);
      const st = launch("strace", ["-f", "-c", "-o", outFile, "-p", String(p.pid), ...treePids(snapshot(), p.pid).filter((x) => x !== p.pid).flatMap((x) => ["-p", String(x)])]);
      const until = Date.now() + 5000;
      while (!/attached/.test(st.out) && Date.now() < until && !st.exited) await sleep(50);
      await sleep(300);
      const before = await splicedStats(p.admin);
      const r = await wrk(`http://127.0.0.1:${p.port}/${file}`, { seconds: 2, connections: CONNS, script });
      const after = await splicedStats(p.admin);
      st.child.kill("SIGINT");
      await st.exit;
      const rows = parseStraceSummary(fs.readFileSync(outFile, "utf8")).map((x) => ({ ...x, perReq: x.calls / r.requests }));
      const d = (k) => (before && after ? (after[k] ?? 0) - (before[k] ?? 0) : null);
      out.push({
        peer: name, file, requests: r.requests, reqPerSecUnderStrace: r.reqPerSec, errors: r.errors,
        rows, outFile: path.relative(root, outFile),
        splicedBytes: d("bytes_spliced"), copiedBytes: d("bytes_copied"), sendfileBytes: d("bytes_sendfile"),
      });
      log(`strace ${name} ${file}: ${r.requests} req; per request: ${rows.slice(0, 6).map((x) => `${x.syscall} ${x.perReq.toFixed(2)}`).join(", ")}`);
    } catch (err) {
      failures.push({ peer: name, round: "strace", error: String(err.message ?? err) });
    } finally {
      await p.stop();
    }
  }
  return out;
}

let tmpDir;

/** `spliced http RUNTIME w1` with the listener's `requestId` on (a config file: no flag sets it), 1 KiB only. */
function requestIdPeer(runtime) {
  return {
    name: `spliced http ${runtime} w1 +requestId`, kind: "spliced", group: "proxy", mode: "http", runtime, workers: 1,
    sizes: ["1k.bin"],
    async start({ port, admin, origin, dir, root }) {
      const config = path.join(dir, `request-id-${runtime}.json`);
      fs.writeFileSync(config, JSON.stringify({
        workers: 1, gracePeriod: "1s", admin: { listen: `127.0.0.1:${admin}` },
        listeners: [{ name: "http", mode: "http", listen: `127.0.0.1:${port}`, requestId: { header: "X-Request-ID" }, routes: [{ upstreams: [`127.0.0.1:${origin}`] }] }],
      }));
      const proc = launch(path.join(root, "bin/spliced"), ["--runtime", runtime, "run", "--config", config]);
      await waitReady(proc, port, this.name, () => /^listener /m.test(proc.out) && isListening(admin));
      return { pid: proc.pid, port, admin, proc, stop: () => stopProc(proc) };
    },
  };
}

async function main() {
  precheck();
  const started = Date.now();
  const env = environment();
  env.codeHashStart = codeHash();
  if (baselineRoot) env.baselineCodeHashStart = codeHash(baselineRoot);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "spliced-http-bench-"));
  fs.chmodSync(tmpDir, 0o755); // nginx workers run unprivileged
  const docroot = makeDocroot(tmpDir);
  const script = wrkScript(tmpDir);

  let peers = httpPeerDefs({ baselineRoot, current: !opt["no-current"] });
  if (opt["request-id"]) peers.push(...["deno", "bun"].map(requestIdPeer));
  if (opt.only) {
    const want = opt.only.split(",").map((s) => s.trim().toLowerCase());
    peers = peers.filter((p) => p.kind === "direct" || p.kind === "haproxy" || p.kind === "haproxy-splice" ||
      p.kind === "bunfetch" || want.some((w) => p.name.toLowerCase().includes(w)));
  }
  const [originPort, ...rest] = await freePorts(1 + peers.length * 2);
  const ports = new Map(peers.map((p, i) => [p.name, { port: rest[2 * i], admin: rest[2 * i + 1] }]));
  log(`peers: ${peers.map((p) => p.name).join(" | ")}; ${ROUNDS} rounds × ${TIME}s, wrk -t1 -c${CONNS}; origin nginx on ${originPort}; docroot ${docroot}`);

  const origin = await startOrigin({ port: originPort, dir: tmpDir, docroot });
  let results = [], straces = [];
  try {
    results = await rounds(peers, ports, origin, docroot, script);
    if (!opt["skip-strace"]) straces = await straceRuns(peers, ports, origin, docroot, script);
  } finally {
    await origin.stop();
  }

  env.codeHashEnd = codeHash();
  if (baselineRoot) {
    env.baselineCodeHashEnd = codeHash(baselineRoot);
    if (env.baselineCodeHashEnd !== env.baselineCodeHashStart) log(`WARNING: the baseline's src/ffi/bin changed during the run`);
  }
  if (env.current && env.codeHashEnd !== env.codeHashStart) log(`WARNING: spliced's src/ffi/bin changed during the run (${env.codeHashStart} -> ${env.codeHashEnd})`);
  const seconds = (Date.now() - started) / 1000;
  const md = httpReport({ env, results, straces, failures, opts: { ROUNDS, TIME, CONNS, WARMUP, seconds } });
  fs.writeFileSync(path.join(runDir, "results.json"), JSON.stringify({ env, results, straces, failures, seconds }, null, 2));
  fs.writeFileSync(path.join(runDir, "report.md"), md);
  fs.writeFileSync(path.join(outDir, "latest-http.md"), md);
  fs.rmSync(tmpDir, { recursive: true, force: true });
  process.stdout.write(md);
  log(`done in ${seconds.toFixed(0)} s; wrote ${path.relative(root, runDir)}/report.md and bench/out/latest-http.md`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
