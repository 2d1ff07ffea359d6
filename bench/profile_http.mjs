// Where the data-plane thread's time goes per request: spliced http (1 worker) under wrk -t1 -c32
// on the 1 KiB file of an nginx origin, profiled on Bun and on Deno, with a top-N self-time
// breakdown by function of the data-plane (Worker) thread and its user/sys CPU per request.
//   node bench/profile_http.mjs [--spliced-root DIR] [--runtime bun,deno] [--file 1k.bin]
//                               [--time S] [--warmup S] [--connections N] [--top N] [--no-perf] [--v8-prof]
// - Bun: a main-thread preload (BUN_OPTIONS=--preload bench/lib/prof/bun_preload.mjs) gives every
//   Worker a preload that runs node:inspector's sampling profiler in that worker (Bun's
//   --cpu-prof covers the main thread only); samples are cut to the measured window.
// - Deno: perf (below) with DENO_V8_FLAGS=--perf-basic-prof, which names V8's JIT code; with
//   --v8-prof (or without perf) also DENO_V8_FLAGS=--prof --logfile-per-isolate: V8's tick log of every isolate; the worker's
//   isolate is the one with most ticks. Ticks are resolved here (code-creation ranges, libc's
//   dynamic symbols); node --prof-process cannot read V8 15's log. The log spans the worker's life
//   (startup, warm-up, window, drain): idle ticks (epoll_wait) are left out of the percentages.
// - Both: per-thread utime/stime from /proc/PID/task/TID/stat over the window, and (unless
//   --no-perf) `perf record -g` of the process, reported for the data-plane thread: kernel vs
//   runtime vs JIT vs libc, and the top symbols (Deno's JIT code is named via --perf-basic-prof).
// The proxy is started with ./bin/spliced of --spliced-root (default: this checkout), so the same
// command profiles a baseline worktree and the current code. Output: markdown on stdout and in
// bench/out/profile-http-<timestamp>/ (profiles, logs, perf data).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FILES, makeDocroot, startOrigin } from "./lib/http_peers.mjs";
import { wrk, wrkScript } from "./lib/http_wrk.mjs";
import { freePorts, isListening, launch, sleep, splicedStats, stopProc, waitReady } from "./lib/peers.mjs";
import { CLK_TCK, snapshot, treePids } from "./lib/proc.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values: opt } = parseArgs({
  options: {
    "spliced-root": { type: "string" },
    runtime: { type: "string", default: "bun,deno" },
    file: { type: "string", default: "1k.bin" },
    time: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    top: { type: "string", default: "25" },
    interval: { type: "string", default: "1000" }, // sampling interval, µs
    "no-perf": { type: "boolean", default: false },
    // Deno: also V8's --prof tick log (on by default only without perf; its SIGPROF ticks land
    // mostly on syscall returns here, so it over-weights read/write and adds signal overhead).
    "v8-prof": { type: "boolean", default: false },
  },
});
const splicedRoot = path.resolve(opt["spliced-root"] ?? root);
const TIME = Number(opt.time), WARMUP = Number(opt.warmup), CONNS = Number(opt.connections), TOP = Number(opt.top);
const INTERVAL = Number(opt.interval);
const usePerf = !opt["no-perf"] && spawnSync("sh", ["-c", "command -v perf"]).status === 0;
const stamp = new Date().toISOString().replace(/[:T]/g, "-").replace(/\..*/, "");
const runDir = path.join(here, "out", `profile-http-${stamp}`);
fs.mkdirSync(runDir, { recursive: true });
const log = (...a) => console.error(`[profile ${new Date().toISOString().slice(11, 19)}]`, ...a);
const pct = (x, d = 1) => `${(100 * x).toFixed(d)} %`;

// ---------- /proc per thread ----------

/** tid → {comm, utime, stime} (ticks) for every thread of `pid`. */
function threadTicks(pid) {
  const out = new Map();
  let tids = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tids) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      out.set(Number(t), { comm, utime: Number(f[11]), stime: Number(f[12]) });
    } catch { /* exited */ }
  }
  return out;
}

function threadDeltas(a, b) {
  const rows = [];
  for (const [tid, x] of b) {
    const y = a.get(tid) ?? { utime: 0, stime: 0 };
    rows.push({ tid, comm: x.comm, user: (x.utime - y.utime) / CLK_TCK, sys: (x.stime - y.stime) / CLK_TCK });
  }
  return rows.sort((p, q) => q.user + q.sys - (p.user + p.sys));
}

// ---------- Bun: .cpuprofile of the worker ----------

const shortUrl = (u) => (u ? u.replace(/^file:\/\//, "").replace(splicedRoot + "/", "").replace(/^.*node_modules\//, "") : "");

function bunBreakdown(dir, window) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (!files.length) return { error: "no worker .cpuprofile was written" };
  // The data-plane worker is the profile with the most non-idle samples.
  let best = null;
  for (const f of files) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    const meta = JSON.parse(fs.readFileSync(path.join(dir, f.replace(".cpuprofile", ".meta.json")), "utf8"));
    if (!best || p.samples.length > best.p.samples.length) best = { p, meta, file: f };
  }
  const { p, meta } = best;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample times: startTime + cumulative deltas (µs); wall = meta.wallStartMs + (t - startTime)/1000.
  let t = p.startTime;
  const self = new Map(), incl = new Map();
  let total = 0, idle = 0, inWindow = 0;
  const label = (n) => {
    const cf = n.callFrame;
    const name = cf.functionName || "(anonymous)";
    const where = shortUrl(cf.url);
    return where ? `${name} ${where}:${cf.lineNumber + 1}` : name;
  };
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const wall = meta.wallStartMs + (t - p.startTime) / 1000;
    if (window && (wall < window.start || wall > window.end)) continue;
    inWindow++;
    const n = byId.get(p.samples[i]);
    if (!n) continue;
    const name = label(n);
    if (/^\((idle|program)\)$/.test(n.callFrame.functionName)) { idle++; continue; }
    total++;
    self.set(name, (self.get(name) ?? 0) + 1);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const k = label(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + 1);
    }
  }
  return { source: best.file, samples: inWindow, idle, busy: total, self, incl };
}

// ---------- Deno: V8 --prof tick log of the worker isolate ----------

/** Exported dynamic symbols of a shared object, sorted by address. */
function elfSymbols(file) {
  try {
    return execFileSync("nm", ["-D", "--defined-only", file], { encoding: "utf8", maxBuffer: 64 << 20 })
      .split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 3 && /[tTwWiI]/.test(f[1]))
      .map((f) => [parseInt(f[0], 16), f[2].replace(/@.*/, "")]).sort((a, b) => a[0] - b[0]);
  } catch {
    return [];
  }
}

function lookupSym(syms, addr) {
  let lo = 0, hi = syms.length - 1, ans = null;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (syms[m][0] <= addr) { ans = syms[m][1]; lo = m + 1; } else hi = m - 1;
  }
  return ans;
}

function denoBreakdown(dir) {
  const logs = fs.readdirSync(dir).filter((f) => /^isolate-.*-v8\.log$/.test(f));
  if (!logs.length) return { error: usePerf ? "no V8 tick log (perf below is the profile; --v8-prof adds V8's own)" : "no V8 isolate log was written" };
  const counts = logs.map((f) => [f, (fs.readFileSync(path.join(dir, f), "utf8").match(/^tick,/gm) ?? []).length]);
  counts.sort((a, b) => b[1] - a[1]);
  if (!counts[0][1]) return { error: usePerf ? "no V8 tick log (perf below is the profile; --v8-prof adds V8's own)" : "the V8 logs hold no ticks" };
  const file = counts[0][0];
  const lines = fs.readFileSync(path.join(dir, file), "utf8").split("\n");
  const code = []; // [start, end, name, kind]
  const libs = [];
  const ticks = [];
  const csv = (l) => {
    // Names may hold commas; code-creation's name is field 6 up to the last 2 fields (sfi, state) for JS.
    return l.split(",");
  };
  for (const l of lines) {
    if (l.startsWith("code-creation,")) {
      const f = csv(l);
      const type = f[1], start = parseInt(f[4], 16), size = Number(f[5]);
      let name = type === "JS" ? f.slice(6, -2).join(",") : f.slice(6).join(",");
      const state = type === "JS" ? f[f.length - 1] : "";
      name = name.replace(/^"|"$/g, "");
      code.push([start, start + size, name, type, state]);
    } else if (l.startsWith("code-move,")) {
      const f = csv(l);
      const from = parseInt(f[1], 16), to = parseInt(f[2], 16);
      const c = code.find((x) => x[0] === from);
      if (c) { const size = c[1] - c[0]; c[0] = to; c[1] = to + size; }
    } else if (l.startsWith("shared-library,")) {
      const f = csv(l);
      libs.push({ name: f[1] || "[anon]", start: parseInt(f[2], 16), end: parseInt(f[3], 16) });
    } else if (l.startsWith("tick,")) {
      const f = csv(l);
      ticks.push({ pc: parseInt(f[1], 16), ext: f[3] === "1" ? parseInt(f[4], 16) : 0, state: Number(f[5]), stack: f.slice(6).map((x) => parseInt(x, 16)) });
    }
  }
  code.sort((a, b) => a[0] - b[0]);
  const symCache = new Map();
  const libFor = (addr) => libs.find((x) => addr >= x.start && addr < x.end);
  const findCode = (addr) => {
    let lo = 0, hi = code.length - 1, ans = null;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      if (code[m][0] <= addr) { ans = code[m]; lo = m + 1; } else hi = m - 1;
    }
    return ans && addr < ans[1] ? ans : null;
  };
  const shortJs = (name) => name.replace(/file:\/\/\S*?\/(src|ffi)\//, "$1/").replace(splicedRoot + "/", "");
  /** {name, js} for an address. */
  const resolve = (addr) => {
    const c = findCode(addr);
    if (c) {
      if (c[3] === "JS") return { name: shortJs(c[2]) || "(anonymous)", js: true, tier: c[4] };
      return { name: `${c[3]}: ${c[2]}`, js: false, builtin: true };
    }
    const lib = libFor(addr);
    if (!lib) return { name: "(unknown)", js: false };
    const base = path.basename(lib.name);
    if (/^deno$/.test(base)) return { name: "deno (native, stripped)", js: false, native: true };
    if (!symCache.has(lib.name)) symCache.set(lib.name, elfSymbols(lib.name));
    // V8 logs a library's whole mapping from its load base (file offset 0), so vaddr = addr - start.
    const s = lookupSym(symCache.get(lib.name), addr - lib.start);
    return { name: `${base}: ${s ?? "?"}`, js: false, native: true };
  };
  const IDLE = /epoll_wait|epoll_pwait|futex|pthread_cond_wait|__poll$|nanosleep/;
  const self = new Map(), callerOfNative = new Map();
  let busy = 0, idle = 0, gc = 0, jsSelf = 0, optimized = 0;
  for (const tk of ticks) {
    const r = resolve(tk.pc);
    if (!r.js && IDLE.test(r.name)) { idle++; continue; }
    busy++;
    if (tk.state === 1) gc++;
    let name = r.name;
    if (r.js) { jsSelf++; if (/^[*~]|^o/.test(r.tier ?? "")) optimized++; }
    self.set(name, (self.get(name) ?? 0) + 1);
    if (!r.js) {
      // The JS function that called into this native/builtin code (first JS frame of the stack).
      const frames = [tk.ext, ...tk.stack].filter(Boolean);
      let caller = "(no JS frame)";
      for (const a of frames) { const x = resolve(a); if (x.js) { caller = x.name; break; } }
      const k = `${name}  ←  ${caller}`;
      callerOfNative.set(k, (callerOfNative.get(k) ?? 0) + 1);
    }
  }
  // Inclusive time per JS function: ticks with the function anywhere on the stack.
  const incl = new Map();
  for (const tk of ticks) {
    const r0 = resolve(tk.pc);
    if (!r0.js && IDLE.test(r0.name)) continue;
    const seen = new Set();
    for (const a of [tk.pc, ...tk.stack]) {
      const x = resolve(a);
      if (!x.js || seen.has(x.name)) continue;
      seen.add(x.name);
      incl.set(x.name, (incl.get(x.name) ?? 0) + 1);
    }
  }
  return { source: file, samples: ticks.length, idle, busy, gc, jsSelf, self, incl, callerOfNative };
}

// ---------- perf ----------

/**
 * perf script of the data-plane thread `tid`: self share by object (kernel / runtime binary / JIT /
 * libc), by leaf symbol, and the kernel's share by the syscall it ran under (__x64_sys_* in the
 * call chain; softirq work done inline, e.g. loopback TCP delivery, counts under its syscall).
 */
function perfReport(dataFile, tid) {
  const r = spawnSync("perf", ["script", "-i", dataFile, "--tid", String(tid), "-F", "tid,ip,sym,dso"],
    { encoding: "utf8", maxBuffer: 1 << 30 });
  const text = r.stdout ?? "";
  const dso = new Map(), sym = new Map(), sysc = new Map(), jsOwner = new Map(), jsLeaf = new Map();
  let n = 0;
  const add = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split("\n").filter((l) => l.trim());
    if (lines.length < 2 || Number(lines[0].trim()) !== tid) continue;
    const frames = lines.slice(1).map((l) => {
      const m = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(l);
      return m ? { sym: m[1], dso: m[2] } : { sym: l.trim(), dso: "?" };
    });
    n++;
    const leaf = frames[0];
    const obj = leaf.dso.includes("kernel") ? "kernel" : /^\/tmp\/perf-|\[JIT\]|jitted/.test(leaf.dso) ? "JIT code" : path.basename(leaf.dso);
    add(dso, obj);
    add(sym, `${leaf.sym} (${obj})`);
    // The innermost named JS frame (V8's perf map names JIT code "JS:*'name file:line"): the JS
    // function that owns this sample, with the native and kernel work it called.
    const js = frames.find((f) => /^JS:/.test(f.sym));
    const clean = (x) => x.replace(/^JS:[*~^+]*'?/, "").replace(/file:\/\/\S*?\/(src|ffi)\//, "$1/");
    add(jsOwner, js ? clean(js.sym) : "(no named JS frame)");
    if (/^JS:/.test(leaf.sym)) add(jsLeaf, clean(leaf.sym));
    if (obj === "kernel") {
      // The syscall: the frame do_syscall_64 called (__x64_sys_X, ksys_X, __do_sys_X, ...).
      const i = frames.findIndex((f) => f.sym === "do_syscall_64");
      const sc = i > 0 ? frames[i - 1].sym.replace(/^(__x64_sys_|__do_sys_|ksys_|__se_sys_)/, "") : null;
      add(sysc, sc ?? (frames.some((f) => /irq|softirq/.test(f.sym)) ? "(interrupt)" : "(other kernel)"));
    }
  }
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [(100 * v) / (n || 1), k]);
  return { samples: n, byDso: rows(dso), bySym: rows(sym), bySyscall: rows(sysc), byJsOwner: rows(jsOwner), byJsLeaf: rows(jsLeaf) };
}

// ---------- one runtime ----------

async function profileRuntime(runtime, origin, docroot, script) {
  const dir = path.join(runDir, runtime);
  fs.mkdirSync(dir, { recursive: true });
  const [port, admin] = await freePorts(2);
  const env = { ...process.env };
  if (runtime === "bun") {
    env.BUN_OPTIONS = `${env.BUN_OPTIONS ? env.BUN_OPTIONS + " " : ""}--preload ${path.join(here, "lib/prof/bun_preload.mjs")}`;
    env.SPLICED_PROF_DIR = dir;
    env.SPLICED_PROF_INTERVAL_US = String(INTERVAL);
  } else {
    const flags = !usePerf || opt["v8-prof"] ? ["--prof", "--logfile-per-isolate", `--logfile=${dir}/v8.log`, `--prof-sampling-interval=${INTERVAL}`] : [];
    if (usePerf) flags.push("--perf-basic-prof");
    env.DENO_V8_FLAGS = flags.join(",");
  }
  const args = ["--runtime", runtime, "http", "--listen", `127.0.0.1:${port}`, "--to", `127.0.0.1:${origin.port}`,
    "--admin", `127.0.0.1:${admin}`, "--grace-period", "1s", "--workers", "1"];
  const proc = launch(path.join(splicedRoot, "bin/spliced"), args, { cwd: dir, env });
  await waitReady(proc, port, `spliced ${runtime}`, () => /^listener /m.test(proc.out) && isListening(admin), 30000);
  // The runtime's own process (bin/spliced execs it, so it is proc.pid; be tolerant of a wrapper).
  const pids = treePids(snapshot(), proc.pid);
  const pid = pids.find((p) => threadTicks(p).size > 3) ?? proc.pid;
  const url = `http://127.0.0.1:${port}/${opt.file}`;
  log(`${runtime}: spliced pid ${pid}; warm-up ${WARMUP} s`);
  await wrk(url, { seconds: WARMUP, connections: CONNS, script });
  await sleep(200);
  const loadBefore = fs.readFileSync("/proc/loadavg", "utf8").trim();
  let perfProc = null;
  const perfFile = path.join(dir, "perf.data");
  if (usePerf) {
    perfProc = launch("perf", ["record", "-g", "-F", "999", "-p", String(pid), "-o", perfFile, "--", "sleep", String(TIME)]);
    await sleep(300);
  }
  const stats0 = await splicedStats(admin);
  const t0 = threadTicks(pid);
  const window = { start: Date.now() };
  const r = await wrk(url, { seconds: TIME, connections: CONNS, script });
  window.end = Date.now();
  const t1 = threadTicks(pid);
  const stats1 = await splicedStats(admin);
  if (perfProc) await perfProc.exit;
  fs.writeFileSync(path.join(dir, "stop"), "");
  await stopProc(proc, 8000);
  await sleep(300);
  fs.writeFileSync(path.join(dir, "spliced.out"), proc.out);
  const threads = threadDeltas(t0, t1);
  const dp = threads[0]; // the data-plane worker: the busiest thread under load
  const out = {
    runtime, pid, requests: r.requests, reqPerSec: r.reqPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errorCount,
    splicedRequests: stats0 && stats1 ? stats1.requests_total - stats0.requests_total : null,
    loadBefore, loadAfter: fs.readFileSync("/proc/loadavg", "utf8").trim(), threads, dp, window,
  };
  out.profile = runtime === "bun" ? bunBreakdown(dir, window) : denoBreakdown(dir);
  if (usePerf && fs.existsSync(perfFile)) out.perf = perfReport(perfFile, dp.tid);
  return out;
}

// ---------- report ----------

/**
 * Self samples grouped by area: syscalls made through FFI (ffi/sys.ts wrappers on Bun; libc's
 * wrappers on Deno: both include the kernel's time in the call), then JS by source folder, then
 * engine code (builtins, natives, GC).
 */
function areas(self, runtime) {
  const m = new Map();
  for (const [k, v] of self) {
    let a;
    if (runtime === "bun") {
      if (/ ffi\/sys\.ts:/.test(k)) a = `syscall via FFI: ${k.split(" ")[0]}`;
      else if (/ src\/http\//.test(k)) a = "JS src/http/ (parse, rewrite, serialise heads)";
      else if (/ src\/dataplane\//.test(k)) a = "JS src/dataplane/ (loop, sessions, transfer)";
      else if (/ (src|ffi)\//.test(k)) a = "JS other src/ffi";
      else a = "engine/native (no source: builtins, typed arrays, GC...)";
    } else {
      const sc = /^libc\.so\.6: (__libc_|__GI___libc_)?(\w+)/.exec(k);
      if (sc) a = /^(read|write|epoll_wait|readv|writev|splice|recv|send)/.test(sc[2]) ? `syscall via FFI: ${sc[2]}` : "libc other (malloc, memcpy...)";
      else if (/ src\/http\//.test(k)) a = "JS src/http/ (parse, rewrite, serialise heads)";
      else if (/ src\/dataplane\//.test(k)) a = "JS src/dataplane/ (loop, sessions, transfer)";
      else if (/ (src|ffi)\//.test(k)) a = "JS other src/ffi";
      else if (/^Builtin:|^Stub:|^Handler:|^BytecodeHandler:/.test(k)) a = "V8 builtins/stubs (ICs, typed arrays, strings...)";
      else if (/^deno /.test(k)) a = "deno native (FFI glue, GC, runtime; stripped)";
      else a = "other";
    }
    m.set(a, (m.get(a) ?? 0) + v);
  }
  return m;
}

/** Top `n` of a name → samples map; `usPer(v)` (optional) turns samples into µs per request. */
function topTable(map, busy, n, head = "function (self)", usPer = null, usHead = "≈ µs/req") {
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  const lines = [`| # | ${head} | samples | % of busy |${usPer ? ` ${usHead} |` : ""}`, `|---:|---|---:|---:|${usPer ? "---:|" : ""}`];
  rows.forEach(([k, v], i) => lines.push(`| ${i + 1} | \`${k.replace(/\|/g, "\\|")}\` | ${v} | ${(100 * v / busy).toFixed(1)} |` +
    (usPer ? ` ${usPer(v).toFixed(2)} |` : "")));
  return lines.join("\n");
}

function section(o) {
  const us = (s) => (1e6 * s / o.requests).toFixed(1);
  const L = [];
  L.push(`## ${o.runtime}: spliced http --workers 1, ${opt.file}, wrk -t1 -c${CONNS} -d${TIME}s`, "");
  L.push(`${o.reqPerSec.toFixed(0)} req/s (${o.requests} requests, ${o.errors} wrk errors${o.splicedRequests !== null ? `, spliced counted ${o.splicedRequests}` : ""}), ` +
    `p50 ${o.p50Ms.toFixed(2)} ms, p99 ${o.p99Ms.toFixed(2)} ms — under the profiler, so slower than the bench. loadavg before ${o.loadBefore.split(" ").slice(0, 3).join(" ")}.`, "");
  L.push("CPU per request by thread (from /proc/PID/task/TID/stat over the measured window):", "");
  L.push("| thread (tid) | user µs/req | sys µs/req | total µs/req | cores |", "|---|---:|---:|---:|---:|");
  const secs = (o.window.end - o.window.start) / 1000;
  for (const t of o.threads.filter((x) => x.user + x.sys > 0).slice(0, 6)) {
    L.push(`| ${t.comm} (${t.tid})${t === o.dp ? " **data plane**" : ""} | ${us(t.user)} | ${us(t.sys)} | ${us(t.user + t.sys)} | ${((t.user + t.sys) / secs).toFixed(2)} |`);
  }
  const all = o.threads.reduce((a, t) => ({ user: a.user + t.user, sys: a.sys + t.sys }), { user: 0, sys: 0 });
  L.push(`| all threads | ${us(all.user)} | ${us(all.sys)} | ${us(all.user + all.sys)} | ${((all.user + all.sys) / secs).toFixed(2)} |`, "");
  const p = o.profile;
  if (p.error) L.push(`In-runtime profile: ${p.error}.`, "");
  else if (o.runtime === "bun") {
    L.push(`JS sampling profile of the data-plane worker (node:inspector in the worker, ${INTERVAL} µs interval, measured window only; \`${p.source}\`): ` +
      `${p.samples} samples, ${p.idle} idle/program, ${p.busy} busy. Self time, % of busy samples (native functions called from JS, FFI calls included, show as their own names):`, "");
    // Samples are taken on wall-clock time: one sample ≈ window / samples.
    const wallUs = (v) => (v * ((o.window.end - o.window.start) * 1000 / p.samples)) / o.requests;
    L.push("By area:", "", topTable(areas(p.self, "bun"), p.busy, 12, "area (self)", wallUs, "wall µs/req"), "");
    L.push(`Top ${TOP} functions:`, "", topTable(p.self, p.busy, TOP, "function (self)", wallUs, "wall µs/req"), "");
    L.push("Inclusive (function anywhere on the stack), top 15:", "", topTable(p.incl, p.busy, 15, "function (inclusive)", wallUs, "wall µs/req"), "");
  } else {
    L.push(`V8 tick profile of the worker isolate (--prof, ${INTERVAL} µs interval, whole worker life incl. ${WARMUP} s warm-up; \`${p.source}\`): ` +
      `${p.samples} ticks, ${p.idle} idle (epoll_wait), ${p.busy} busy, of which ${p.gc} in GC state and ${p.jsSelf} in JS code. ` +
      "Self time, % of busy ticks (JS functions; V8 builtins/stubs; native code by library — libc symbols are syscall wrappers, so their share includes the kernel time of the syscall):", "");
    // Busy ticks ≈ the thread's CPU time: share × the data-plane thread's CPU µs per request.
    const cpuUs = (v) => (v / p.busy) * (1e6 * (o.dp.user + o.dp.sys) / o.requests);
    L.push("By area:", "", topTable(areas(p.self, "deno"), p.busy, 12, "area (self)", cpuUs, "≈ CPU µs/req"), "");
    L.push(`Top ${TOP} functions:`, "", topTable(p.self, p.busy, TOP, "function (self)", cpuUs, "≈ CPU µs/req"), "");
    L.push("Native and builtin ticks by the JS function that called them (who pays for the FFI calls and builtins), top 15:", "",
      topTable(p.callerOfNative, p.busy, 15, "native/builtin  ←  JS caller", cpuUs, "≈ CPU µs/req"), "");
    L.push("Inclusive (JS function anywhere on the stack), top 15:", "", topTable(p.incl, p.busy, 15, "function (inclusive)", cpuUs, "≈ CPU µs/req"), "");
  }
  if (o.perf) {
    L.push(`perf record -g -F 999 of the process, data-plane thread ${o.dp.tid} only (${o.perf.samples} samples; cpu-clock, so only on-CPU time; ` +
      "JSC's JIT code is not named, V8's is via --perf-basic-prof; both runtime binaries are stripped):", "");
    L.push("By object: " + o.perf.byDso.slice(0, 6).map(([v, k]) => `${k} ${v.toFixed(1)} %`).join(", ") + ".", "");
    L.push("Kernel samples by syscall: " + o.perf.bySyscall.slice(0, 8).map(([v, k]) => `${k} ${v.toFixed(1)} %`).join(", ") + " (% of all the thread's samples).", "");
    const cpuUs = (v) => ((v / 100) * (1e6 * (o.dp.user + o.dp.sys) / o.requests)).toFixed(2);
    L.push("| % | ≈ CPU µs/req | object / symbol (self) |", "|---:|---:|---|");
    for (const [v, k] of o.perf.bySym.slice(0, 20)) L.push(`| ${v.toFixed(2)} | ${cpuUs(v)} | \`${k.replace(/\|/g, "\\|")}\` |`);
    L.push("");
    if (o.perf.byJsLeaf.length) {
      L.push("perf, JIT code self time by JS function (on-CPU, unbiased; top 20):", "", "| % | ≈ CPU µs/req | JS function (self, JIT code only) |", "|---:|---:|---|");
      for (const [v, k] of o.perf.byJsLeaf.slice(0, 20)) L.push(`| ${v.toFixed(2)} | ${cpuUs(v)} | \`${k}\` |`);
      // perf walks frame pointers; libc and the stripped runtime have none, so kernel samples under
      // a syscall rarely reach a JS frame: the table is shown only when most samples do.
      const unnamed = o.perf.byJsOwner.find(([, k]) => k === "(no named JS frame)")?.[0] ?? 0;
      if (unnamed < 50) {
        L.push("", "perf, every sample charged to its innermost JS function (its JIT code + the runtime, libc and kernel work it called; top 20):", "",
          "| % | ≈ CPU µs/req | JS function (self + callees outside JS) |", "|---:|---:|---|");
        for (const [v, k] of o.perf.byJsOwner.slice(0, 20)) L.push(`| ${v.toFixed(2)} | ${cpuUs(v)} | \`${k}\` |`);
      } else {
        L.push("", `(${unnamed.toFixed(0)} % of the samples have no JS frame perf could unwind to — libc and the runtime have no frame pointers — so no per-JS-function inclusive view.)`);
      }
      L.push("");
    }
  }
  return L.join("\n");
}

async function main() {
  if (!fs.existsSync(path.join(splicedRoot, "bin/spliced"))) throw new Error(`no bin/spliced in ${splicedRoot}`);
  if (!FILES[opt.file]) throw new Error(`--file must be one of ${Object.keys(FILES).join(", ")}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "spliced-profile-"));
  fs.chmodSync(tmp, 0o755);
  const docroot = makeDocroot(tmp);
  const script = wrkScript(tmp);
  const [originPort] = await freePorts(1);
  const origin = await startOrigin({ port: originPort, dir: tmp, docroot });
  const results = [];
  try {
    for (const rt of opt.runtime.split(",").map((s) => s.trim()).filter(Boolean)) {
      try {
        results.push(await profileRuntime(rt, origin, docroot, script));
      } catch (err) {
        log(`${rt}: failed: ${err.stack ?? err}`);
      }
    }
  } finally {
    await origin.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const commit = spawnSync("git", ["-C", splicedRoot, "log", "-1", "--format=%h %s"], { encoding: "utf8" }).stdout.trim();
  const md = [
    "# Data-plane profile (spliced http, 1 worker)",
    "",
    `${new Date().toISOString()} — ${os.cpus()[0]?.model}, ${os.cpus().length} cores; spliced at ${splicedRoot} (${commit.slice(0, 90)})`,
    `\`node bench/profile_http.mjs --spliced-root ${splicedRoot} --runtime ${opt.runtime} --file ${opt.file} --time ${TIME}\``,
    "",
    ...results.map(section),
  ].join("\n");
  fs.writeFileSync(path.join(runDir, "profile.md"), md);
  fs.writeFileSync(path.join(runDir, "results.json"), JSON.stringify(results, (k, v) => (v instanceof Map ? Object.fromEntries([...v].sort((a, b) => b[1] - a[1])) : v), 2));
  process.stdout.write(md + "\n");
  log(`wrote ${path.relative(root, runDir)}/profile.md`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
