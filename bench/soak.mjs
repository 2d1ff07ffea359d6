// Soak: mixed traffic through one spliced (a TCP and an HTTP listener, admin on) while its
// upstreams are killed and restarted, its config is reloaded and one worker is made to fail.
// At the end: every completed transfer byte-exact, fds and RSS back to baseline, /stats
// consistent with what the clients saw, the process alive and ready.
//   node bench/soak.mjs [--duration 10m] [--runtime bun|deno|both] [--workers 2] [--out FILE]
// Default: 10 minutes on Bun, then 10 minutes on Deno. Results: bench/RESULTS-soak.md.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { baseEnvironment, version } from "./lib/env.mjs";
import { freePorts, isListening, launch, sleep, waitReady } from "./lib/peers.mjs";
import { treeFds, treeRssKiB } from "./lib/proc.mjs";
import { makePool } from "./lib/soak_pattern.mjs";
import { httpExchange, keepAliveAgent, tcpTransfer, wsSession } from "./lib/soak_traffic.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values: opt } = parseArgs({
  options: {
    duration: { type: "string", default: "10m" },
    runtime: { type: "string", default: "both" },
    workers: { type: "string", default: "2" },
    "restart-every": { type: "string", default: "20s" },
    "reload-every": { type: "string", default: "30s" },
    out: { type: "string", default: path.join(here, "RESULTS-soak.md") },
    // Soak the spliced of another checkout (e.g. a clean worktree of a commit).
    "spliced-root": { type: "string" },
    "skip-worker-fault": { type: "boolean", default: false },
    // Only these lanes (tcp,small,large,ws,slow,abort): to narrow a problem down.
    lanes: { type: "string" },
  },
});

function seconds(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`bad duration ${s}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? "s"];
}
const DURATION = seconds(opt.duration);
const RESTART_EVERY = seconds(opt["restart-every"]);
const RELOAD_EVERY = seconds(opt["reload-every"]);
const WORKERS = Number(opt.workers);
const splicedRoot = path.resolve(opt["spliced-root"] ?? root);
const RUNTIMES = opt.runtime === "both" ? ["bun", "deno"] : [opt.runtime];
const TOKEN = "soak-admin-token-0123456789";
const MiB = 1 << 20;
// What "back to baseline" allows after traffic stops and every connection closed.
const FD_MARGIN = 4;
const RSS_MARGIN = (baseKiB) => Math.max(16 * 1024, 0.25 * baseKiB);
// Failures this long after an upstream came back (or a worker was replaced) still count as expected.
const WINDOW_SLACK_MS = 2000;

const stamp = new Date().toISOString().replace(/[:T]/g, "-").replace(/\..*/, "");
const runDir = path.join(here, "out", `soak-${stamp}`);
fs.mkdirSync(runDir, { recursive: true });
let logRuntime = "";
const log = (...a) => console.error(`[soak ${logRuntime} ${new Date().toISOString().slice(11, 19)}]`, ...a);

const rand = (n) => Math.floor(Math.random() * n);
const pool = makePool();
const slice = (len) => ({ off: rand(pool.length - len + 1), len });

/** Open fds of a process by kind: socket, pipe, eventpoll, eventfd, file, other. */
function fdKinds(pid) {
  const kinds = {};
  let names = [];
  try { names = fs.readdirSync(`/proc/${pid}/fd`); } catch { return kinds; }
  for (const n of names) {
    let l;
    try { l = fs.readlinkSync(`/proc/${pid}/fd/${n}`); } catch { continue; }
    const k = l.startsWith("socket:") ? "socket" : l.startsWith("pipe:") ? "pipe" : l.startsWith("anon_inode:")
      ? l.slice(11).replace(/[[\]]/g, "") : l.startsWith("/") ? "file" : "other";
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}
/** The proxy's TCP sockets by state and by which port they face (ours: a listener, an upstream, admin). */
function socketStates(pid, ports) {
  let text = "";
  try { text = execFileSync("ss", ["-tanp"], { encoding: "utf8", maxBuffer: 256 << 20 }); } catch { return {}; }
  const names = { [ports.tcp]: "bulk", [ports.http]: "web", [ports.admin]: "admin", [ports.upTcp]: "upstream tcp", [ports.upHttp]: "upstream http" };
  const out = {};
  for (const line of text.split("\n")) {
    if (!line.includes(`pid=${pid},`)) continue;
    const f = line.trim().split(/\s+/);
    const [state, local, peer] = [f[0], f[3], f[4]];
    const lp = local.split(":").pop(), pp = peer.split(":").pop();
    const side = names[lp] ? `${names[lp]} (client side)` : names[pp] ? `to ${names[pp]}` : "other";
    const key = `${state} ${state === "LISTEN" ? names[lp] ?? lp : side}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
const kindsText = (k) => Object.entries(k).sort().map(([n, v]) => `${n} ${v}`).join(", ");

/** Processes this script started and has not stopped yet: killed if the script fails. */
const children = new Set();

// ---------- the upstream process ----------

async function startUpstream(tcpPort, httpPort) {
  const child = spawn(process.execPath, [path.join(here, "lib/soak_upstream.mjs"), String(tcpPort), String(httpPort)],
    { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child.pid);
  child.once("exit", () => children.delete(child.pid));
  let out = "";
  child.stderr.on("data", (d) => { out += d; });
  await new Promise((res, rej) => {
    child.stdout.on("data", (d) => { if (String(d).includes("ready")) res(); });
    child.once("exit", (c) => rej(new Error(`upstream exited ${c}: ${out}`)));
  });
  return {
    child,
    get stderr() { return out; },
    kill: () => new Promise((r) => { if (child.exitCode !== null || child.signalCode) return r(); child.once("exit", r); child.kill("SIGKILL"); }),
  };
}

// ---------- the proxy ----------

function writeConfig(file, ports, generation) {
  const cfg = {
    workers: WORKERS,
    gracePeriod: "2s",
    admin: { listen: `127.0.0.1:${ports.admin}`, token: TOKEN },
    listeners: [
      {
        name: "bulk", mode: "tcp", listen: `127.0.0.1:${ports.tcp}`, upstreams: [`127.0.0.1:${ports.upTcp}`],
        connectTimeout: generation % 2 ? "2s" : "3s",
      },
      {
        name: "web", mode: "http", listen: `127.0.0.1:${ports.http}`,
        routes: [{ name: "app", path: "/", upstreams: [`127.0.0.1:${ports.upHttp}`],
          requestHeaders: { set: { "X-Soak-Generation": String(generation) } } }],
      },
    ],
  };
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
}

async function admin(ports, method, p, body) {
  const headers = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`http://127.0.0.1:${ports.admin}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not json */ }
  return { status: res.status, json, text };
}

// ---------- traffic lanes ----------

function sizeUpTo(max) {
  // Half small (1 KiB–1 MiB, log-uniform), half large (uniform up to max).
  return Math.random() < 0.5 ? Math.floor(1024 * 2 ** (Math.random() * 10)) : rand(max) + 1;
}

function lanes(ports) {
  const small = keepAliveAgent(2), large = keepAliveAgent(1), slowAgent = keepAliveAgent(1), abortAgent = keepAliveAgent(1);
  const agents = [small, large, slowAgent, abortAgent];
  const tcpBulk = () => {
    const q = slice(sizeUpTo(32 * MiB)), r = slice(sizeUpTo(32 * MiB));
    return tcpTransfer(pool, ports.tcp, { reqOff: q.off, reqLen: q.len, respOff: r.off, respLen: r.len });
  };
  const httpSmall = () => httpExchange(pool, small, ports.http, { method: "POST", ...slice(1024), kind: "http small (1 KiB echo)" });
  let flip = 0;
  const httpLarge = () => (flip++ % 2
    ? httpExchange(pool, large, ports.http, { method: "POST", ...slice(4 * MiB), kind: "http large (4 MiB echo)" })
    : httpExchange(pool, large, ports.http, { method: "GET", ...slice(4 * MiB), kind: "http large (4 MiB GET)" }));
  const ws = () => wsSession(pool, ports.http, { messages: 20 });
  let slowFlip = 0;
  const slow = () => (slowFlip++ % 2
    ? tcpTransfer(pool, ports.tcp, { reqOff: 0, reqLen: 1024, respOff: slice(2 * MiB).off, respLen: 2 * MiB, slow: 512 * 1024, kind: "slow reader (tcp 2 MiB)" })
    : httpExchange(pool, slowAgent, ports.http, { method: "GET", ...slice(2 * MiB), slow: 512 * 1024, kind: "slow reader (http 2 MiB)" }));
  let abortFlip = 0;
  const abort = () => {
    const k = abortFlip++ % 3;
    if (k === 0) {
      const r = slice(16 * MiB);
      return tcpTransfer(pool, ports.tcp, { reqOff: 0, reqLen: 4096, respOff: r.off, respLen: r.len, abortAt: rand(r.len), kind: "client abort (tcp)" });
    }
    if (k === 1) {
      const r = slice(8 * MiB);
      return httpExchange(pool, abortAgent, ports.http, { method: "GET", ...r, abortAt: rand(r.len), kind: "client abort (http GET)" });
    }
    return httpExchange(pool, abortAgent, ports.http, { method: "POST", ...slice(4 * MiB), abortUpload: true, kind: "client abort (http upload)" });
  };
  return {
    agents,
    defs: [
      ["tcp bulk", tcpBulk], ["tcp bulk", tcpBulk],
      ["http small", httpSmall], ["http small", httpSmall],
      ["http large", httpLarge], ["websocket", ws], ["slow", slow], ["abort", abort],
    ],
    warmup: [tcpBulk, httpSmall, httpLarge, ws, slow, abort],
  };
}

// ---------- one soak ----------

async function soak(runtime) {
  logRuntime = runtime;
  const [tcp, http, adminPort, upTcp, upHttp] = await freePorts(5);
  const ports = { tcp, http, admin: adminPort, upTcp, upHttp };
  const cfgFile = path.join(runDir, `spliced-${runtime}.json`);
  let generation = 1;
  writeConfig(cfgFile, ports, generation);

  let upstream = await startUpstream(upTcp, upHttp);
  const proc = launch(path.join(splicedRoot, "bin/spliced"), ["--runtime", runtime, "--config", cfgFile],
    { env: { ...process.env, SPLICED_TEST_HOOKS: "1" } });
  children.add(proc.pid);
  proc.exit.then(() => children.delete(proc.pid));
  await waitReady(proc, http, `spliced ${runtime}`, () => isListening(tcp) && isListening(adminPort));
  const pid = proc.pid;
  log(`spliced pid ${pid}: tcp ${tcp}, http ${http}, admin ${adminPort}; upstreams ${upTcp}, ${upHttp}; ${DURATION} s`);

  const traffic = lanes(ports);
  const records = [];
  // Warm-up: each kind once, then rest until the proxy holds no connection.
  for (const t of traffic.warmup) await t();
  for (const a of traffic.agents) a.destroy();
  const quiet = async (ms) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const s = await admin(ports, "GET", "/stats").catch(() => null);
      if (s?.json?.totals?.connections_active === 0) return true;
      await sleep(250);
    }
    return false;
  };
  await quiet(15000);
  await sleep(6000); // idle upstream pools close after 4 s, idle pipes are trimmed within ~2 s
  const baseline = { fds: treeFds(pid).fds, rssKiB: treeRssKiB(pid), kinds: fdKinds(pid), sockets: socketStates(pid, ports) };
  const statsStart = (await admin(ports, "GET", "/stats")).json;
  log(`baseline: ${baseline.fds} fds (${kindsText(baseline.kinds)}), ${(baseline.rssKiB / 1024).toFixed(1)} MiB`);

  // Sampling.
  const peak = { fds: baseline.fds, rssKiB: baseline.rssKiB };
  const samples = [];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const f = treeFds(pid).fds, r = treeRssKiB(pid);
    peak.fds = Math.max(peak.fds, f);
    peak.rssKiB = Math.max(peak.rssKiB, r);
    samples.push({ t: (Date.now() - t0) / 1000, fds: f, rssKiB: r });
  }, 1000);

  // Traffic.
  let stopping = false;
  const traffic2 = lanes(ports);
  const laneKey = { "tcp bulk": "tcp", "http small": "small", "http large": "large", websocket: "ws", slow: "slow", abort: "abort" };
  const want = opt.lanes ? new Set(opt.lanes.split(",")) : null;
  const running = traffic2.defs.filter(([name]) => !want || want.has(laneKey[name])).map(async ([, fn]) => {
    while (!stopping) {
      const r = await fn();
      records.push(r);
      if (!r.ok && !r.aborted) await sleep(100); // no hot loop while an upstream is down
    }
  });

  // Faults.
  const restarts = [];
  const reloads = [];
  const faults = [];
  const timers = [];
  const at = (sec, fn) => timers.push(setTimeout(fn, sec * 1000));
  for (let s = RESTART_EVERY; s < DURATION - 5; s += RESTART_EVERY) {
    at(s, async () => {
      const w = { start: Date.now() };
      await upstream.kill();
      await sleep(500);
      upstream = await startUpstream(upTcp, upHttp);
      w.ready = Date.now();
      w.end = w.ready + WINDOW_SLACK_MS;
      restarts.push(w);
      log(`upstreams restarted (down ${w.ready - w.start} ms)`);
    });
  }
  for (let s = RELOAD_EVERY, i = 0; s < DURATION - 5; s += RELOAD_EVERY, i++) {
    at(s, async () => {
      generation++;
      writeConfig(cfgFile, ports, generation);
      const how = i % 2 ? "POST /reload" : "SIGHUP";
      const r = { at: Date.now(), how, generation, ok: false };
      try {
        if (how === "SIGHUP") process.kill(pid, "SIGHUP");
        else {
          const res = await admin(ports, "POST", "/reload");
          r.status = res.status;
        }
        await sleep(1500);
        const g = (await admin(ports, "GET", "/stats")).json?.generation;
        r.seenGeneration = g;
        r.ok = g === statsStart.generation + reloads.length + 1;
      } catch (err) { r.error = String(err.message ?? err); }
      reloads.push(r);
      log(`reload by ${how}: generation ${r.seenGeneration}${r.ok ? "" : " (UNEXPECTED)"}`);
    });
  }
  let faultAt = Math.round(DURATION / 2);
  while (faultAt % RESTART_EVERY < 4 || faultAt % RESTART_EVERY > RESTART_EVERY - 3 || faultAt % RELOAD_EVERY < 3) faultAt++;
  if (!opt["skip-worker-fault"]) at(faultAt, async () => {
    const f = { start: Date.now(), worker: 0 };
    try {
      const res = await admin(ports, "POST", "/debug/worker-fault", { worker: 0 });
      f.status = res.status;
      f.answer = res.text.slice(0, 200);
      if (res.status === 404) log(`worker fault: POST /debug/worker-fault answered 404 (hook not there yet), going on`);
      else {
        // Watch /ready until it is 200 again (it may go 503 while the worker is down).
        const until = Date.now() + 20000;
        f.readySeen = [];
        while (Date.now() < until) {
          const r = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((x) => x.status).catch(() => 0);
          if (f.readySeen.at(-1) !== r) f.readySeen.push(r);
          if (r === 200 && Date.now() - f.start > 1000) break;
          await sleep(100);
        }
        log(`worker fault injected: ${res.status} ${f.answer}; /ready went ${f.readySeen.join(" → ")}`);
      }
    } catch (err) { f.error = String(err.message ?? err); }
    f.end = Date.now() + WINDOW_SLACK_MS;
    faults.push(f);
  });

  // Progress.
  const progress = setInterval(() => {
    const ok = records.filter((r) => r.ok).length, bad = records.filter((r) => r.corrupt).length;
    const s = samples.at(-1);
    log(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${records.length} transfers, ${ok} ok, ${bad} corrupt; fds ${s?.fds}, RSS ${((s?.rssKiB ?? 0) / 1024).toFixed(1)} MiB`);
  }, 30000);

  await sleep(DURATION * 1000);
  stopping = true;
  for (const t of timers) clearTimeout(t);
  clearInterval(progress);
  await Promise.all(running);
  // A fault action may still be in flight (a restart): wait for it.
  while (restarts.length < Math.floor((DURATION - 5 - 1e-9) / RESTART_EVERY) && Date.now() - t0 < (DURATION + 30) * 1000) await sleep(200);
  const trafficSeconds = (Date.now() - t0) / 1000;
  for (const a of traffic2.agents) a.destroy();
  const closed = await quiet(30000);
  await sleep(8000);
  clearInterval(sampler);
  const end = { fds: treeFds(pid).fds, rssKiB: treeRssKiB(pid), kinds: fdKinds(pid), sockets: socketStates(pid, ports) };
  const statsEnd = (await admin(ports, "GET", "/stats")).json;
  const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(async (r) => ({ status: r.status, body: await r.text() })).catch((e) => ({ status: 0, body: String(e) }));
  const metrics = await admin(ports, "GET", "/metrics").then((r) => r.text).catch(() => "");
  const workerRestarts = [...metrics.matchAll(/^spliced_worker_restarts_total(?:\{[^}]*\})? (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  const hasRestartMetric = /spliced_worker_restarts_total/.test(metrics);
  const alive = !proc.exited;
  log(`end sockets: ${kindsText(end.sockets)}`);
  log(`end: ${end.fds} fds (${kindsText(end.kinds)}), ${(end.rssKiB / 1024).toFixed(1)} MiB; /ready ${ready.status}; alive ${alive}`);

  // Stop.
  process.kill(pid, "SIGTERM");
  const exited = await Promise.race([proc.exit.then(() => true), sleep(10000).then(() => false)]);
  if (!exited) process.kill(pid, "SIGKILL");
  await proc.exit;
  await upstream.kill();
  fs.writeFileSync(path.join(runDir, `spliced-${runtime}.log`), proc.out);

  return {
    runtime, duration: DURATION, trafficSeconds, t0, workers: WORKERS, pid,
    records, restarts, reloads, faults, baseline, peak, end, samples, closed,
    statsStart, statsEnd, ready, alive, workerRestarts, hasRestartMetric,
    exitCode: proc.code, proxyLog: proc.out.split("\n").filter((l) => l && !/^listener /.test(l)).slice(-30),
  };
}

// ---------- analysis ----------

const overlaps = (r, ws) => ws.some((w) => r.start <= w.end && r.end >= w.start);

function analyse(run) {
  const kinds = new Map();
  const unexpected = [];
  for (const r of run.records) {
    if (!kinds.has(r.kind)) kinds.set(r.kind, { kind: r.kind, n: 0, ok: 0, aborted: 0, restart: 0, fault: 0, other: 0, corrupt: 0, sent: 0, received: 0, extra: 0 });
    const k = kinds.get(r.kind);
    k.n++;
    if (r.corrupt) { k.corrupt++; unexpected.push(r); continue; }
    if (r.ok) { k.ok++; k.sent += r.sent; k.received += r.received; if (r.kind === "websocket") k.extra += r.messages; continue; }
    if (r.aborted) { k.aborted++; continue; }
    if (overlaps(r, run.restarts)) k.restart++;
    else if (overlaps(r, run.faults.filter((f) => f.status && f.status !== 404))) k.fault++;
    else { k.other++; unexpected.push(r); }
  }
  const rows = [...kinds.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  const sum = (f) => rows.reduce((a, r) => a + r[f], 0);
  const total = { kind: "all", n: sum("n"), ok: sum("ok"), aborted: sum("aborted"), restart: sum("restart"), fault: sum("fault"), other: sum("other"), corrupt: sum("corrupt"), sent: sum("sent"), received: sum("received") };

  // /stats against what the clients saw (counters since the baseline snapshot).
  const d = (scope, name, key) => (run.statsEnd?.[scope]?.[name]?.[key] ?? NaN) - (run.statsStart?.[scope]?.[name]?.[key] ?? NaN);
  const tcpRecs = run.records.filter((r) => /tcp/.test(r.kind));
  const tcpOk = tcpRecs.filter((r) => r.ok);
  const httpRecs = run.records.filter((r) => !/tcp/.test(r.kind));
  const httpAnswered = httpRecs.filter((r) => r.status);
  const http2xx = httpRecs.filter((r) => r.status === 200).length;
  const http101 = run.records.filter((r) => r.kind === "websocket" && (r.messages > 0 || r.ok)).length;
  const http5xx = httpRecs.filter((r) => r.status >= 500).length;
  const checks = [
    ["connections open at the end (totals.connections_active)", 0, run.statsEnd?.totals?.connections_active, (o, p) => p === o],
    ["pipes held at the end (totals.pipes_open, pooled pipes allowed)", "≤ 2 per worker", run.statsEnd?.totals?.pipes_open, (_o, p) => p <= 2 * run.workers],
    ["TCP connections (bulk.connections_total) ≥ TCP transfers that completed", tcpOk.length, d("listeners", "bulk", "connections_total"), (o, p) => p >= o],
    ["TCP connections (bulk.connections_total) ≤ TCP transfers started", tcpRecs.length, d("listeners", "bulk", "connections_total"), (o, p) => p <= o],
    ["TCP bytes up (bulk.bytes_client_to_upstream) ≥ bytes sent in completed TCP transfers", tcpOk.reduce((a, r) => a + r.sent, 0), d("listeners", "bulk", "bytes_client_to_upstream"), (o, p) => p >= o],
    ["TCP bytes down (bulk.bytes_upstream_to_client) ≥ bytes received in completed TCP transfers", tcpOk.reduce((a, r) => a + r.received, 0), d("listeners", "bulk", "bytes_upstream_to_client"), (o, p) => p >= o],
    ["HTTP requests (web.requests_total) ≥ HTTP requests answered", httpAnswered.length, d("listeners", "web", "requests_total"), (o, p) => p >= o],
    ["HTTP requests (web.requests_total) ≤ HTTP requests sent", httpRecs.length, d("listeners", "web", "requests_total"), (o, p) => p <= o],
    ["HTTP 2xx (web.responses_2xx) ≥ 200s received", http2xx, d("listeners", "web", "responses_2xx"), (o, p) => p >= o],
    ["HTTP 1xx (web.responses_1xx) ≥ WebSocket 101s received", http101, d("listeners", "web", "responses_1xx"), (o, p) => p >= o],
    ["HTTP 5xx (web.responses_5xx) ≥ 5xx received", http5xx, d("listeners", "web", "responses_5xx"), (o, p) => p >= o],
    ["config generation = 1 + reloads", 1 + run.reloads.length, run.statsEnd?.generation, (o, p) => p === o],
  ].map(([name, ours, proxy, pass]) => ({ name, ours, proxy, pass: Boolean(pass(ours, proxy)) }));
  const errors = new Map();
  for (const r of unexpected) {
    const key = `${r.kind}: ${String(r.error).replace(/\d+/g, "N")}`;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  const fdsBack = run.end.fds <= run.baseline.fds + FD_MARGIN;
  const rssBack = run.end.rssKiB <= run.baseline.rssKiB + RSS_MARGIN(run.baseline.rssKiB);
  // Where each unexpected failure sits in time, next to the nearest fault of each kind.
  const t0 = run.t0;
  const near = (r, ts) => {
    let best = null;
    for (const t of ts) if (best === null || Math.abs(r.end - t) < Math.abs(r.end - best)) best = t;
    return best === null ? "—" : `${((r.end - best) / 1000).toFixed(1)} s`;
  };
  const timeline = unexpected.slice(0, 20).map((r) => ({
    kind: r.kind, error: r.error, start: ((r.start - t0) / 1000).toFixed(1), end: ((r.end - t0) / 1000).toFixed(1),
    restart: near(r, run.restarts.map((w) => w.ready)), reload: near(r, run.reloads.map((x) => x.at)), fault: near(r, run.faults.map((f) => f.start)),
  }));
  return { rows, total, checks, errors: [...errors.entries()], timeline, fdsBack, rssBack, unexpected: unexpected.length };
}

// ---------- report ----------

function report(env, runs, wall) {
  const mib = (k) => (k / 1024).toFixed(1);
  const gb = (b) => (b / 1e9).toFixed(2);
  const L = [
    "# Soak",
    "",
    `Generated by \`node bench/soak.mjs${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}\` on ${env.date.slice(0, 10)} ` +
      `(${(wall / 60).toFixed(1)} min in all). spliced commit: ${env.splicedCommit}. Without flags the script runs ` +
      "10 minutes on Bun, then 10 minutes on Deno.",
    "",
    "One spliced (`--config`, " + `${WORKERS} workers, admin on loopback with a token, \`SPLICED_TEST_HOOKS=1\`) with a TCP`,
    "listener `bulk` and an HTTP listener `web` (one route), both to upstreams in one Node child process.",
    "Traffic, 8 lanes at once, each running one transfer after the other:",
    "",
    "- 2 × **tcp bulk**: request and response sizes each half 1 KiB–1 MiB, half up to 32 MiB; both directions at once.",
    "- 2 × **http small**: 1 KiB `POST /echo` on keep-alive connections.",
    "- 1 × **http large**: 4 MiB `GET /blob` and 4 MiB `POST /echo`, alternating, keep-alive.",
    "- 1 × **websocket**: upgrade through `web`, 20 binary messages of 1 B–64 KiB echoed, close.",
    "- 1 × **slow reader**: 2 MiB read at 512 KiB/s, over TCP and over HTTP in turn.",
    "- 1 × **client abort**: the client closes mid-transfer (TCP download, HTTP download, HTTP upload); not failures.",
    "",
    "Every byte received is compared with the pattern it must be (a deterministic AES-CTR stream both",
    "processes generate): byte-exact, not a sample. The request direction is checked by the upstream",
    "(TCP: it answers a verdict byte after the whole request; a wrong one counts as corrupt) or by the echo.",
    "",
    `Faults: the upstream process is killed (SIGKILL) every ${RESTART_EVERY} s and started again 0.5 s later; the config`,
    `file is rewritten (the route's \`X-Soak-Generation\` header and the TCP connect timeout change) and reloaded every ${RELOAD_EVERY} s,`,
    "by SIGHUP and by `POST /reload` in turn; once, half-way, `POST /debug/worker-fault {\"worker\":0}`.",
    `A failed transfer whose time span overlaps an upstream's down time (kill to ${WINDOW_SLACK_MS / 1000} s after it listens again)`,
    "is an *expected failure during an upstream restart*; one overlapping the worker fault (until `/ready` is 200 again",
    `+ ${WINDOW_SLACK_MS / 1000} s) is *expected during the worker fault*; any other failure is *unexpected*. Corruption is never expected.`,
    "",
    `Baseline: after a warm-up (each kind once), no connection open and 6 s of rest. End: after traffic stopped, every`,
    `client connection closed and 8 s of rest. Back to baseline means fds ≤ baseline + ${FD_MARGIN} and RSS ≤ baseline +`,
    "max(16 MiB, 25 %).",
    "",
  ];
  for (const run of runs) {
    const a = run.analysis;
    L.push(`## ${run.runtime === "bun" ? "Bun" : "Deno"}: ${run.duration} s`, "");
    const verdict = [
      a.total.corrupt === 0 ? "**0 corrupted**" : `**${a.total.corrupt} CORRUPTED**`,
      `${a.unexpected - a.total.corrupt} unexpected failures`,
      a.fdsBack ? "fds back to baseline" : "**fds NOT back to baseline**",
      a.rssBack ? "RSS back to baseline" : "**RSS NOT back to baseline**",
      a.checks.every((c) => c.pass) ? "/stats consistent" : "**/stats checks failed**",
      run.alive && run.ready.status === 200 ? "alive and ready (/ready 200)" : `**alive ${run.alive}, /ready ${run.ready.status}**`,
      `exit after SIGTERM: ${run.exitCode}`,
    ];
    L.push(verdict.join("; ") + ".", "");
    L.push("| transfers | started | completed byte-exact | client aborts | failed during upstream restart | failed during worker fault | unexpected failures | corrupted | bytes up (completed) | bytes down (completed) |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of [...a.rows, a.total]) {
      L.push(`| ${r.kind === "all" ? "**all**" : r.kind} | ${r.n} | ${r.ok} | ${r.aborted} | ${r.restart} | ${r.fault} | ${r.other} | ${r.corrupt} | ${gb(r.sent)} GB | ${gb(r.received)} GB |`);
    }
    L.push("");
    const ws = a.rows.find((r) => r.kind === "websocket");
    if (ws) L.push(`WebSocket messages echoed and checked in completed sessions: ${ws.extra}.`, "");
    if (a.errors.length) {
      L.push("Unexpected failures by error:", "");
      for (const [e, n] of a.errors.sort((x, y) => y[1] - x[1]).slice(0, 12)) L.push(`- ${n} × ${e}`);
      L.push("", "| transfer | error | span (s after traffic start) | end − nearest upstream back up | end − nearest reload | end − worker fault |",
        "|---|---|---|---:|---:|---:|");
      for (const x of a.timeline) L.push(`| ${x.kind} | ${x.error} | ${x.start}–${x.end} | ${x.restart} | ${x.reload} | ${x.fault} |`);
      L.push("");
    }
    const maxDown = Math.max(0, ...run.restarts.map((w) => w.ready - w.start));
    L.push("| | fds | RSS MiB |", "|---|---:|---:|",
      `| baseline | ${run.baseline.fds} | ${mib(run.baseline.rssKiB)} |`,
      `| peak | ${run.peak.fds} | ${mib(run.peak.rssKiB)} |`,
      `| end | ${run.end.fds} | ${mib(run.end.rssKiB)} |`, "",
      `fds by kind at baseline: ${kindsText(run.baseline.kinds)}; at the end: ${kindsText(run.end.kinds)}.`, "",
      `TCP sockets at baseline (ss): ${kindsText(run.baseline.sockets)}; at the end: ${kindsText(run.end.sockets)}.`,
      `Socket fds left at the end beyond the baseline: ${(run.end.kinds.socket ?? 0) - (run.baseline.kinds.socket ?? 0)}` +
        ` (WebSocket sessions started: ${a.rows.find((r) => r.kind === "websocket")?.n ?? 0}). Socket fds that \`ss\` does not list are closed TCP sockets whose fd was never closed.`, "");
    const f = run.faults[0];
    const faultText = !f ? "not reached" : f.status === 404 ? "`POST /debug/worker-fault` answered 404 (the hook is not in this build): no fault injected"
      : f.error ? `request failed: ${f.error}` : `answered ${f.status}; /ready went ${(f.readySeen ?? []).join(" → ")}; spliced_worker_restarts_total at the end: ${run.hasRestartMetric ? run.workerRestarts : "not exported"}`;
    L.push(`- Upstream restarts: ${run.restarts.length} (down at most ${maxDown} ms each).`,
      `- Reloads: ${run.reloads.length} (${run.reloads.filter((r) => r.ok).length} took effect: generation went up by one each; ` +
        `${run.reloads.filter((r) => r.how === "SIGHUP").length} by SIGHUP, ${run.reloads.filter((r) => r.how !== "SIGHUP").length} by POST /reload).`,
      `- Worker fault: ${faultText}.`,
      `- Traffic ran ${run.trafficSeconds.toFixed(0)} s; connections all closed at the end: ${run.closed ? "yes" : "NO"}.`, "");
    L.push("| /stats check | clients saw | proxy says | |", "|---|---:|---:|---|");
    for (const c of a.checks) L.push(`| ${c.name} | ${c.ours} | ${c.proxy} | ${c.pass ? "ok" : "**FAIL**"} |`);
    L.push("");
    if (run.proxyLog.length) {
      L.push("<details><summary>last lines the proxy wrote</summary>", "", "```", ...run.proxyLog.map((l) => l.slice(0, 300)), "```", "", "</details>", "");
    }
  }
  L.push("## Machine", "",
    `${env.cpus} × ${env.cpuModel}, ${env.memGiB} GiB, Linux ${env.kernel}; Bun ${env.bun}; ${env.deno.split("\n")[0]}; Node ${env.node}.`,
    "The machine is shared with other jobs (2 cores): throughput here says nothing about spliced's speed.", "");
  return L.join("\n");
}

async function main() {
  const started = Date.now();
  const env = { ...baseEnvironment(root), splicedCommit: (fs.existsSync(path.join(splicedRoot, ".commit")) ? fs.readFileSync(path.join(splicedRoot, ".commit"), "utf8").trim()
    : version("git", ["-C", splicedRoot, "log", "-1", "--format=%h %s"])) + (splicedRoot === root ? " (working tree, uncommitted changes included)" : ` (a clean export in ${splicedRoot})`) };
  const runs = [];
  for (const rt of RUNTIMES) {
    const run = await soak(rt);
    run.analysis = analyse(run);
    const a = run.analysis;
    log(`${rt}: ${a.total.n} transfers, ${a.total.ok} ok, ${a.total.aborted} aborted, ${a.total.restart} failed in restarts, ` +
      `${a.total.fault} in the worker fault, ${a.total.other} unexpected, ${a.total.corrupt} corrupt`);
    for (const [e, n] of a.errors) log(`  unexpected: ${n} × ${e}`);
    runs.push(run);
    await sleep(2000);
  }
  const md = report(env, runs, (Date.now() - started) / 1000);
  fs.writeFileSync(path.join(runDir, "results.json"), JSON.stringify({ env, runs: runs.map(({ records, ...r }) => ({ ...r, records: records.filter((x) => !x.ok) })) }, null, 2));
  fs.writeFileSync(path.join(runDir, "report.md"), md);
  fs.writeFileSync(opt.out, md);
  process.stdout.write(md);
  const bad = runs.some((r) => r.analysis.total.corrupt || !r.alive || r.ready.status !== 200);
  process.exit(bad ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  for (const pid of children) { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }
  process.exit(1);
});
