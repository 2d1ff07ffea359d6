// Memory under idle load: RSS per idle connection of spliced (Bun, Deno) next to HAProxy and nginx,
// in the same run, for
//   http: N keep-alive clients, each sent one request, got its response (1 KiB) and stays idle;
//   tcp:  N connections through the TCP proxy to an upstream that holds them; no byte moves.
// RSS is VmRSS from /proc/PID/status summed over the proxy's process tree (nginx: master + worker).
// Every proxy runs with one worker / thread: spliced --workers 1, HAProxy nbthread 1, nginx
// worker_processes 1. Results: bench/RESULTS-memory.md (or --out).
//   node bench/idle_memory.mjs [--connections 10000] [--modes http,tcp] [--only bun,deno,haproxy,nginx] [--out FILE]
import { fork } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { baseEnvironment, version } from "./lib/env.mjs";
import { freePorts, isListening, launch, sleep, splicedStats, stopProc, waitReady } from "./lib/peers.mjs";
import { snapshot, treeFds, treePids, treeRssKiB } from "./lib/proc.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values: opt } = parseArgs({
  options: {
    connections: { type: "string", default: "10000" },
    modes: { type: "string", default: "http,tcp" },
    only: { type: "string" },
    out: { type: "string", default: path.join(here, "RESULTS-memory.md") },
    settle: { type: "string", default: "6" },
    // Measure the spliced of another checkout (e.g. a clean worktree of a commit).
    "spliced-root": { type: "string" },
  },
});
const N = Number(opt.connections);
const splicedRoot = path.resolve(opt["spliced-root"] ?? root);
const SETTLE_MS = Number(opt.settle) * 1000;
const MODES = opt.modes.split(",").map((s) => s.trim());
const log = (...a) => console.error(`[idle ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** The hard RLIMIT_NOFILE this process (and what it starts) can reach. */
function hardNofile() {
  const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  return Number(line.trim().split(/\s+/)[4]);
}
const HARD = hardNofile();
// A proxied TCP connection holds two sockets in the proxy: 2N plus the proxy's own fds must fit.
// HAProxy reserves two fds per connection in HTTP mode too (maxsock = 2 × maxconn + a few) and
// will not start past the limit, so both modes use the same N: one number per row, comparable.
const N_RUN = Math.min(N, Math.floor((HARD - 300) / 2));
const N_TCP = N_RUN;
const N_HTTP = N_RUN;

const stamp = new Date().toISOString().replace(/[:T]/g, "-").replace(/\..*/, "");
const runDir = path.join(here, "out", `idle-memory-${stamp}`);
fs.mkdirSync(runDir, { recursive: true });

// ---------- upstream (child process) ----------

async function startHolder(port, mode) {
  const child = fork(path.join(here, "lib/idle_holder.mjs"), [String(port), mode], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  await new Promise((res, rej) => {
    child.once("message", res);
    child.once("exit", (c) => rej(new Error(`holder exited ${c}`)));
  });
  return {
    count: () => new Promise((res) => { child.once("message", (m) => res(m.count)); child.send("count"); }),
    stop: async () => { child.kill("SIGKILL"); await new Promise((r) => child.exitCode !== null || child.signalCode ? r() : child.once("exit", r)); },
  };
}

// ---------- peers ----------

function nginxPrefix(dir, name) {
  const prefix = path.join(dir, name);
  fs.mkdirSync(prefix, { recursive: true });
  for (const t of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) fs.mkdirSync(path.join(prefix, `${t}_temp`), { recursive: true });
  return prefix;
}

function peerDefs() {
  const spliced = (runtime) => ({
    name: `spliced ${runtime} w1`, key: runtime,
    async start({ mode, port, upstream, admin }) {
      const args = ["--runtime", runtime, mode, "--listen", `127.0.0.1:${port}`, "--to", `127.0.0.1:${upstream}`,
        "--workers", "1", "--admin", `127.0.0.1:${admin}`, "--grace-period", "1s", "--idle-timeout", "1h"];
      const proc = launch(path.join(splicedRoot, "bin/spliced"), args);
      await waitReady(proc, port, this.name, () => /^listener /m.test(proc.out) && isListening(admin));
      return { pid: proc.pid, admin, proc, stop: () => stopProc(proc) };
    },
  });
  return [
    spliced("bun"),
    spliced("deno"),
    {
      name: "HAProxy 1 thread", key: "haproxy",
      async start({ mode, port, upstream, n }) {
        const cfg = path.join(runDir, `haproxy-${mode}-${port}.cfg`);
        fs.writeFileSync(cfg, [
          "global",
          "  nbthread 1",
          `  maxconn ${n + 50}`,
          // HAProxy asks for 2 × maxconn + extra fds and refuses to start past the hard limit;
          // ulimit-n pins it to the limit (N idle client sockets, or 2N in tcp mode, fit).
          `  ulimit-n ${HARD}`,
          "defaults",
          `  mode ${mode}`,
          ...(mode === "http" ? ["  option http-keep-alive", "  http-reuse safe", "  timeout http-keep-alive 1h"] : []),
          "  timeout connect 5s",
          "  timeout client 1h",
          "  timeout server 1h",
          "listen idle",
          `  bind 127.0.0.1:${port}`,
          `  server s1 127.0.0.1:${upstream}`,
          "",
        ].join("\n"));
        const proc = launch("haproxy", ["-db", "-f", cfg]);
        await waitReady(proc, port, this.name);
        return { pid: proc.pid, proc, stop: () => stopProc(proc) };
      },
    },
    {
      name: "nginx 1 worker", key: "nginx",
      async start({ mode, port, upstream, n }) {
        const prefix = nginxPrefix(runDir, `nginx-${mode}-${port}`);
        const cfg = path.join(prefix, "nginx.conf");
        const head = [
          ...(mode === "tcp" ? ["load_module /usr/lib/nginx/modules/ngx_stream_module.so;"] : []),
          "worker_processes 1;",
          `worker_rlimit_nofile ${HARD};`,
          "daemon off;",
          `pid ${prefix}/nginx.pid;`,
          `error_log ${prefix}/error.log warn;`,
          // Far above what is used: nginx closes idle keep-alive connections once fewer than 1/16 of
          // worker_connections are free (ngx_drain_connections).
          `events { worker_connections ${4 * n}; }`,
        ];
        const body = mode === "tcp" ? [
          "stream {",
          "  server {",
          `    listen 127.0.0.1:${port} backlog=4096;`,
          `    proxy_pass 127.0.0.1:${upstream};`,
          "    proxy_timeout 1h;",
          "  }",
          "}",
        ] : [
          "http {",
          "  access_log off;",
          "  keepalive_timeout 1h;",
          "  keepalive_requests 1000000;",
          ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${prefix}/${t}_temp;`),
          "  upstream origin {",
          `    server 127.0.0.1:${upstream};`,
          "    keepalive 32;",
          "  }",
          "  server {",
          `    listen 127.0.0.1:${port} backlog=4096;`,
          "    location / {",
          "      proxy_pass http://origin;",
          "      proxy_http_version 1.1;",
          '      proxy_set_header Connection "";',
          "    }",
          "  }",
          "}",
        ];
        fs.writeFileSync(cfg, [...head, ...body, ""].join("\n"));
        const proc = launch("nginx", ["-p", prefix, "-e", `${prefix}/error.log`, "-c", cfg]);
        await waitReady(proc, port, this.name, () => treePids(snapshot(), proc.pid).length >= 2);
        return { pid: proc.pid, proc, stop: () => stopProc(proc) };
      },
    },
  ];
}

// ---------- clients ----------

const REQUEST = Buffer.from("GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

/** One client: connects; in http mode sends one request and waits for its whole response. */
function openOne(port, mode) {
  return new Promise((res) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    let done = false;
    const finish = (ok) => { if (!done) { done = true; res(ok ? s : null); } };
    s.on("error", () => {});
    s.once("close", () => finish(false));
    s.once("connect", () => {
      if (mode === "tcp") return finish(true);
      s.write(REQUEST);
      let buf = Buffer.alloc(0);
      const onData = (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? -1);
        if (!/^HTTP\/1\.1 200 /.test(head)) { s.off("data", onData); return finish(false); }
        if (len >= 0 && buf.length >= end + 4 + len) { s.off("data", onData); finish(true); }
      };
      s.on("data", onData);
    });
  });
}

async function openMany(port, mode, n, batch = 200) {
  const sockets = [];
  let failed = 0;
  for (let i = 0; i < n; i += batch) {
    const got = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => openOne(port, mode)));
    for (const s of got) s ? sockets.push(s) : failed++;
  }
  return { sockets, failed };
}

async function waitFor(cond, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return true;
    await sleep(100);
  }
  return cond();
}

// ---------- one measurement ----------

async function measure(peer, mode, n) {
  const [port, upstream, admin] = await freePorts(3);
  const holder = await startHolder(upstream, mode);
  let p;
  try {
    p = await peer.start({ mode, port, upstream, admin, n });
  } catch (err) {
    await holder.stop();
    throw err;
  }
  try {
    const warm = await openMany(port, mode, 100);
    for (const s of warm.sockets) s.destroy();
    await waitFor(async () => (await holder.count()) <= (mode === "http" ? 64 : 0), 10000);
    await sleep(SETTLE_MS);
    const before = treeRssKiB(p.pid);
    const fdsBefore = treeFds(p.pid).fds;
    const t0 = Date.now();
    const { sockets, failed } = await openMany(port, mode, n);
    const openSeconds = (Date.now() - t0) / 1000;
    if (mode === "tcp") await waitFor(async () => (await holder.count()) >= sockets.length, 30000);
    await sleep(SETTLE_MS); // keep-alive pools towards the origin trim, lazily freed pages settle
    const after = treeRssKiB(p.pid);
    const fdsAfter = treeFds(p.pid).fds;
    const upstreamConns = await holder.count();
    const alive = sockets.filter((s) => !s.destroyed && s.readyState === "open").length;
    const stats = await splicedStats(p.admin);
    for (const s of sockets) s.destroy();
    await waitFor(async () => (await holder.count()) <= (mode === "http" ? 64 : 0), 20000);
    await sleep(2000);
    const afterClose = treeRssKiB(p.pid);
    const r = {
      peer: peer.name, mode, connections: n, opened: sockets.length, failed, alive, upstreamConns,
      activeReported: stats?.connections_active ?? null, openSeconds,
      rssBeforeKiB: before, rssAfterKiB: after, rssAfterCloseKiB: afterClose,
      kibPerConn: (after - before) / n, fdsBefore, fdsAfter,
    };
    log(`${mode} ${peer.name}: ${(before / 1024).toFixed(1)} → ${(after / 1024).toFixed(1)} MiB, ` +
      `${r.kibPerConn.toFixed(2)} KiB/conn, ${alive}/${n} alive (${failed} failed to open), upstream conns ${upstreamConns}, fds ${fdsBefore} → ${fdsAfter}`);
    return r;
  } finally {
    await p.stop();
    await holder.stop();
  }
}

// ---------- report ----------

function report(env, results, failures, seconds) {
  const mib = (k) => (k / 1024).toFixed(1);
  const lines = [
    "# Memory under idle load",
    "",
    `Generated by \`node bench/idle_memory.mjs${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}\` ` +
      `on ${env.date.slice(0, 10)} in ${seconds.toFixed(0)} s. spliced commit: ${env.splicedCommit}.`,
    "",
    "- **http**: N clients open a keep-alive connection each, send one `GET` and read its response",
    "  (1 KiB from a Node origin in its own process), then stay idle. The proxy holds N client",
    "  sockets and a few pooled origin connections.",
    "- **tcp**: N connections through the TCP proxy to an upstream (its own process) that accepts",
    "  and holds them. No byte moves. The proxy holds 2N sockets.",
    "- **RSS** is VmRSS from `/proc/PID/status`, summed over the proxy's process tree (nginx: master",
    "  and worker). *Before* is after a warm-up (100 connections opened and closed) and " + `${opt.settle} s of rest;`,
    "  *after* is " + `${opt.settle} s after the last connection was up; KiB per connection = (after − before) ÷ N.`,
    "- Every proxy has one worker: spliced `--workers 1`, HAProxy `nbthread 1`, nginx",
    "  `worker_processes 1`. Idle timeouts are raised to 1 h everywhere so nothing closes during the run.",
    `- fd limit: the hard \`RLIMIT_NOFILE\` here is ${HARD} and cannot be raised (no CAP_SYS_RESOURCE in this` ,
    "  container); every proxy's soft limit is raised to it (spliced does that itself, HAProxy `ulimit-n`, nginx",
    "  `worker_rlimit_nofile`). A TCP proxy holds 2N sockets, and HAProxy reserves 2 fds per connection in HTTP mode",
    `  too (it refuses to start otherwise), so every run uses N = ${N_RUN}` + (N_RUN < N ? ` (asked: ${N}; ${N} needs a hard limit of at least ${2 * N + 300})` : "") + ".",
    "",
    "| peer | mode | N | failed to open | alive at end | RSS before MiB | RSS after MiB | KiB per connection | RSS after close MiB | fds before → after |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of results) {
    lines.push(`| ${r.peer} | ${r.mode} | ${r.connections} | ${r.failed} | ${r.alive} | ${mib(r.rssBeforeKiB)} | ${mib(r.rssAfterKiB)} | ` +
      `**${r.kibPerConn.toFixed(2)}** | ${mib(r.rssAfterCloseKiB)} | ${r.fdsBefore} → ${r.fdsAfter} |`);
  }
  if (failures.length) {
    lines.push("", "Failures:", "");
    for (const f of failures) lines.push(`- ${f.peer} ${f.mode}: ${f.error.split("\n")[0]}`);
  }
  lines.push("", "## Machine", "",
    `${env.cpus} × ${env.cpuModel}, ${env.memGiB} GiB, Linux ${env.kernel}; ${env.bun === "?" ? "" : "Bun " + env.bun}; ${env.deno.split("\n")[0]}; ` +
      `Node ${env.node}; ${env.haproxy}; ${env.nginx}.`,
    "The machine is shared (2 cores, other jobs running); RSS does not depend on CPU contention, only the open times do.",
    "");
  return lines.join("\n");
}

async function main() {
  const started = Date.now();
  const env = { ...baseEnvironment(root), splicedCommit: (fs.existsSync(path.join(splicedRoot, ".commit")) ? fs.readFileSync(path.join(splicedRoot, ".commit"), "utf8").trim()
    : version("git", ["-C", splicedRoot, "log", "-1", "--format=%h %s"])) + (splicedRoot === root ? " (working tree, uncommitted changes included)" : ` (a clean export in ${splicedRoot})`) };
  let peers = peerDefs();
  if (opt.only) {
    const want = opt.only.split(",").map((s) => s.trim());
    peers = peers.filter((p) => want.includes(p.key));
  }
  log(`peers: ${peers.map((p) => p.name).join(", ")}; modes ${MODES.join(",")}; N http ${N_HTTP}, tcp ${N_TCP}; fd hard limit ${HARD}`);
  const results = [];
  const failures = [];
  for (const mode of MODES) {
    for (const peer of peers) {
      try {
        results.push(await measure(peer, mode, mode === "tcp" ? N_TCP : N_HTTP));
      } catch (err) {
        log(`${mode} ${peer.name} failed: ${err.message}`);
        failures.push({ peer: peer.name, mode, error: String(err.message ?? err) });
      }
      await sleep(1000);
    }
  }
  const md = report(env, results, failures, (Date.now() - started) / 1000);
  fs.writeFileSync(path.join(runDir, "results.json"), JSON.stringify({ env, results, failures }, null, 2));
  fs.writeFileSync(path.join(runDir, "report.md"), md);
  fs.writeFileSync(opt.out, md);
  process.stdout.write(md);
}

main().catch((err) => { console.error(err); process.exit(1); });
