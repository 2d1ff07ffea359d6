// The markdown report of the HTTP benchmark: medians per (peer, file), ratios vs HAProxy and the
// Bun fetch proxy, static files vs nginx sendfile, syscalls per request under strace.
import { median } from "./report.mjs";

const f = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d));
const HAPROXY = "HAProxy http 1 thread";
const HAPROXY_SPLICE = "HAProxy http 1 thread, splice";
const BUNFETCH = "Bun fetch proxy";
const DIRECT = "direct to nginx (no proxy)";
const TARGETS = { reqVsHaproxy: 1.0, reqVsBunFetch: 1.5, p99VsHaproxy: 2.0, cpuVsHaproxySplice: 1.0, staticCpuVsNginx: 1.0 };

/** Per (peer, file): medians and the per-round values, in peer order of first appearance. */
export function summarizeHttp(results) {
  const groups = new Map();
  for (const r of results) {
    const key = `${r.peer}\u0000${r.file}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const med = (rs, k) => median(rs.map((r) => r[k]));
  return [...groups.values()].map((rs) => {
    rs.sort((a, b) => a.round - b.round);
    const sum = (k) => rs.reduce((a, r) => a + (r[k] ?? 0), 0);
    const errors = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    return {
      peer: rs[0].peer, kind: rs[0].kind, group: rs[0].group, file: rs[0].file, bodyBytes: rs[0].bodyBytes,
      rounds: rs,
      ...Object.fromEntries(["reqPerSec", "gbPerSec", "p50Ms", "p90Ms", "p99Ms", "p999Ms", "maxMs", "proxyCores", "proxyUserShare",
        "cpuPer1kReq", "cpuPerGB", "originCores", "serverCpuPerGB", "clientCores", "wakeupsPerReq", "machineBusyCores", "boxCpuPer1kReq"]
        .map((k) => [k, med(rs, k)])),
      foreignCores: Math.max(...rs.map((r) => r.foreignCores)),
      stealCores: Math.max(...rs.map((r) => r.stealCores ?? 0)),
      requests: sum("requests"),
      errors,
      errorCount: sum("errorCount"),
      splicedBytes: sum("splicedBytes"),
      copiedBytes: sum("copiedBytes"),
      sendfileBytes: sum("sendfileBytes"),
      bytes: sum("bytes"),
    };
  });
}

const errText = (r) => (r.errorCount ? Object.entries(r.errors).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(", ") : "0");
const perRound = (r, k, d) => r.rounds.map((x) => f(x[k], d)).join(" / ");
const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || !b ? null : a / b);

/** Where spliced's counters say the bytes went (heads are counted as copied). */
function byteSplit(r) {
  if (r.kind !== "spliced") return "—";
  const moved = r.splicedBytes + r.copiedBytes + r.sendfileBytes;
  if (!moved) return "—";
  const pct = (x) => {
    const v = (100 * x) / moved;
    return v < 0.1 ? "<0.1" : v.toFixed(1).replace(/\.0$/, "");
  };
  return [["spliced", r.splicedBytes], ["sendfile", r.sendfileBytes], ["copied", r.copiedBytes]]
    .filter(([, v]) => v).map(([k, v]) => `${k} ${pct(v)}%`).join(" / ");
}

function proxyTable(rows, file) {
  const big = file === "1m.bin";
  const get = (name) => rows.find((r) => r.peer === name && r.file === file);
  const ha = get(HAPROXY), has = get(HAPROXY_SPLICE), bf = get(BUNFETCH);
  const cpu = (r) => (big ? r?.cpuPerGB : r?.cpuPer1kReq);
  const head = ["Peer", "req/s", ...(big ? ["GB/s"] : []), "p50 ms", "p99 ms", big ? "proxy CPU-s/GB" : "proxy CPU-s / 1k req",
    "proxy cores", "req/s ÷ HAProxy", "p99 ÷ HAProxy", "CPU ÷ HAProxy", ...(big ? ["CPU ÷ HAProxy splice"] : []), "req/s ÷ Bun fetch",
    "req/s per round", big ? "CPU-s/GB per round" : "CPU-s/1k per round", "proxy user %", "proxy sleeps / req",
    "origin / wrk cores", "box busy (of 2)", "wrk errors", "bytes by path (spliced counters)"];
  const lines = [`| ${head.join(" | ")} |`, `|---|${head.slice(1).map(() => "---:").join("|")}|`];
  for (const r of rows.filter((x) => x.file === file && x.group === "proxy")) {
    const self = (name) => r.peer === name;
    const cells = [
      r.peer, f(r.reqPerSec, 0), ...(big ? [f(r.gbPerSec)] : []), f(r.p50Ms), f(r.p99Ms), f(cpu(r), big ? 3 : 4), f(r.proxyCores),
      self(HAPROXY) ? "1" : f(ratio(r.reqPerSec, ha?.reqPerSec)),
      self(HAPROXY) ? "1" : f(ratio(r.p99Ms, ha?.p99Ms)),
      self(HAPROXY) ? "1" : f(ratio(cpu(r), cpu(ha))),
      ...(big ? [self(HAPROXY_SPLICE) ? "1" : f(ratio(cpu(r), cpu(has)))] : []),
      self(BUNFETCH) ? "1" : f(ratio(r.reqPerSec, bf?.reqPerSec)),
      perRound(r, "reqPerSec", 0), perRound(r, big ? "cpuPerGB" : "cpuPer1kReq", big ? 3 : 4),
      r.proxyUserShare === null ? "—" : f(100 * r.proxyUserShare, 0), f(r.wakeupsPerReq),
      `${f(r.originCores)} / ${f(r.clientCores)}`, f(r.machineBusyCores), errText(r), byteSplit(r),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

const usPerReq = (r) => (r?.cpuPer1kReq === null || r?.cpuPer1kReq === undefined ? null : r.cpuPer1kReq * 1000);
const userSys = (r) => {
  const us = usPerReq(r);
  if (us === null || r.proxyUserShare === null || r.proxyUserShare === undefined) return "—";
  return `${f(us * r.proxyUserShare, 1)} / ${f(us * (1 - r.proxyUserShare), 1)}`;
};

/**
 * The short table: per proxy, both files. Ratios are against HAProxy http 1 thread for 1 KiB and
 * HAProxy forced splice for 1 MiB (the fair peer for each size).
 */
function summaryTable(rows) {
  const get = (name, file) => rows.find((r) => r.peer === name && r.file === file);
  const ref = { "1k.bin": get(HAPROXY, "1k.bin"), "1m.bin": get(HAPROXY_SPLICE, "1m.bin") };
  const head = ["Proxy", "file", "req/s", "req/s ÷ HAProxy", "p50 ms", "p99 ms", "p99 ÷ HAProxy",
    "proxy CPU µs/req", "user / sys µs/req", "CPU ÷ HAProxy", "proxy CPU-s/GB"];
  const lines = [`| ${head.join(" | ")} |`, `|---|---|${head.slice(2).map(() => "---:").join("|")}|`];
  for (const file of ["1k.bin", "1m.bin"]) {
    const h = ref[file];
    for (const r of rows.filter((x) => x.file === file && x.group === "proxy")) {
      const isRef = r === h;
      lines.push(`| ${r.peer} | ${file === "1k.bin" ? "1 KiB" : "1 MiB"} | ${f(r.reqPerSec, 0)} | ${isRef ? "1" : f(ratio(r.reqPerSec, h?.reqPerSec))} | ` +
        `${f(r.p50Ms)} | ${f(r.p99Ms)} | ${isRef ? "1" : f(ratio(r.p99Ms, h?.p99Ms))} | ${f(usPerReq(r), 1)} | ${userSys(r)} | ` +
        `${isRef ? "1" : f(ratio(usPerReq(r), usPerReq(h)))} | ${file === "1m.bin" ? f(r.cpuPerGB, 3) : "—"} |`);
    }
  }
  return lines.join("\n");
}

/** After ÷ before for each "(before)" peer that has its current counterpart in the run. */
function beforeAfterTable(rows) {
  const pairs = rows.filter((r) => r.peer.endsWith(" (before)"))
    .map((b) => [b, rows.find((r) => r.peer === b.peer.slice(0, -" (before)".length) && r.file === b.file)])
    .filter(([, a]) => a);
  if (!pairs.length) return "";
  const head = ["spliced", "file", "req/s before → after", "× req/s", "p99 ms before → after", "× p99",
    "CPU µs/req before → after", "× CPU/req", "CPU-s/GB before → after"];
  const lines = ["## After ÷ before (same run, interleaved)", "", `| ${head.join(" | ")} |`, `|---|---|${head.slice(2).map(() => "---:").join("|")}|`];
  for (const [b, a] of pairs) {
    lines.push(`| ${a.peer} | ${a.file === "1k.bin" ? "1 KiB" : "1 MiB"} | ${f(b.reqPerSec, 0)} → ${f(a.reqPerSec, 0)} | ${f(ratio(a.reqPerSec, b.reqPerSec))} | ` +
      `${f(b.p99Ms)} → ${f(a.p99Ms)} | ${f(ratio(a.p99Ms, b.p99Ms))} | ${f(usPerReq(b), 1)} → ${f(usPerReq(a), 1)} | ${f(ratio(usPerReq(a), usPerReq(b)))} | ` +
      `${a.file === "1m.bin" ? `${f(b.cpuPerGB, 3)} → ${f(a.cpuPerGB, 3)}` : "—"} |`);
  }
  return lines.join("\n") + "\n";
}

function staticTable(rows) {
  const nginx = rows.find((r) => r.peer === DIRECT && r.file === "1m.bin");
  const list = [nginx, ...rows.filter((r) => r.group === "static")].filter(Boolean);
  const head = ["Server (1 MiB file)", "req/s", "GB/s", "p50 ms", "p99 ms", "server CPU-s/GB", "server cores", "CPU-s/GB ÷ nginx",
    "GB/s ÷ nginx", "CPU-s/GB per round", "wrk cores", "box busy (of 2)", "wrk errors", "bytes by path (spliced counters)"];
  const lines = [`| ${head.join(" | ")} |`, `|---|${head.slice(1).map(() => "---:").join("|")}|`];
  for (const r of list) {
    const isNginx = r === nginx;
    const cores = isNginx ? r.originCores : r.proxyCores;
    lines.push(`| ${isNginx ? "nginx 1 worker, sendfile (the origin, direct)" : r.peer} | ${f(r.reqPerSec, 0)} | ${f(r.gbPerSec)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ` +
      `${f(r.serverCpuPerGB, 3)} | ${f(cores)} | ${isNginx ? "1" : f(ratio(r.serverCpuPerGB, nginx?.serverCpuPerGB))} | ` +
      `${isNginx ? "1" : f(ratio(r.gbPerSec, nginx?.gbPerSec))} | ${perRound(r, "serverCpuPerGB", 3)} | ${f(r.clientCores)} | ${f(r.machineBusyCores)} | ${errText(r)} | ${isNginx ? "sendfile" : byteSplit(r)} |`);
  }
  return lines.join("\n");
}

function targetLines(rows) {
  const get = (name, file) => rows.find((r) => r.peer === name && r.file === file);
  const ha1 = get(HAPROXY, "1k.bin"), bf1 = get(BUNFETCH, "1k.bin"), has = get(HAPROXY_SPLICE, "1m.bin"), ngx = get(DIRECT, "1m.bin");
  const verdict = (x, target, le) => (x === null ? "n/a" : (le ? x <= target : x >= target) ? "meets" : "misses");
  const out = [];
  for (const r of rows.filter((x) => x.kind === "spliced" && x.group === "proxy" && x.file === "1k.bin")) {
    const a = ratio(r.reqPerSec, ha1?.reqPerSec), b = ratio(r.reqPerSec, bf1?.reqPerSec), c = ratio(r.p99Ms, ha1?.p99Ms);
    out.push(`- ${r.peer}, 1 KiB: req/s ${f(a)}× HAProxy (${verdict(a, TARGETS.reqVsHaproxy)} ≥ 1.0×), ` +
      `${f(b)}× Bun fetch (${verdict(b, TARGETS.reqVsBunFetch)} ≥ 1.5×), p99 ${f(c)}× HAProxy (${verdict(c, TARGETS.p99VsHaproxy, true)} ≤ 2×)`);
  }
  for (const r of rows.filter((x) => x.kind === "spliced" && x.group === "proxy" && x.file === "1m.bin")) {
    const a = ratio(r.cpuPerGB, has?.cpuPerGB);
    out.push(`- ${r.peer}, 1 MiB: proxy CPU-s/GB ${f(a)}× HAProxy forced splice (${verdict(a, TARGETS.cpuVsHaproxySplice, true)} ≤ 1.0×), ` +
      `GB/s ${f(ratio(r.gbPerSec, has?.gbPerSec))}× HAProxy splice's`);
  }
  for (const r of rows.filter((x) => x.group === "static")) {
    const a = ratio(r.serverCpuPerGB, ngx?.serverCpuPerGB);
    out.push(`- ${r.peer}, 1 MiB file: server CPU-s/GB ${f(a)}× nginx sendfile (${verdict(a, TARGETS.staticCpuVsNginx, true)} ≤ 1.0×), ` +
      `GB/s ${f(ratio(r.gbPerSec, ngx?.gbPerSec))}× nginx's`);
  }
  return out.join("\n");
}

function straceSection(straces) {
  if (!straces.length) return "";
  const lines = ["## Syscalls per request (strace -f -c during an unmeasured 2 s wrk run)", ""];
  for (const s of straces) {
    const split = s.splicedBytes === null ? "" : `; counters: spliced ${s.splicedBytes} B, copied ${s.copiedBytes} B, sendfile ${s.sendfileBytes} B`;
    lines.push(`- **${s.peer}, ${s.file}** (${s.requests} requests, ${f(s.reqPerSecUnderStrace, 0)} req/s under strace${split}): ` +
      s.rows.slice(0, 9).map((r) => `${r.syscall} ${f(r.perReq)}${r.errors ? ` (${f(r.errors / s.requests)} err)` : ""}`).join(", ") +
      ` — \`${s.outFile}\``);
  }
  return lines.join("\n") + "\n";
}

export function httpReport({ env, results, straces, failures, opts }) {
  const rows = summarizeHttp(results);
  const noisy = rows.filter((r) => r.foreignCores > 0.15);
  const errs = rows.filter((r) => r.errorCount);
  const stolen = rows.filter((r) => r.stealCores > 0.05);
  return [
    "# HTTP benchmark",
    "",
    `${env.date} — ${env.cpuModel}, ${env.cpus} cores, ${env.memGiB} GiB, Linux ${env.kernel}`,
    `${env.deno.split("\n")[0]}; bun ${env.bun}; node ${env.node}; ${env.haproxy}; ${env.nginx}; ${env.wrk}`,
    env.current === false ? "spliced: only the baseline's (--no-current)" :
      `spliced: ${env.spliced} at ${env.splicedCommit}; code hash (src, ffi, bin) ${env.codeHashStart}` +
      (env.codeHashEnd && env.codeHashEnd !== env.codeHashStart ? ` → **${env.codeHashEnd}: the code changed during the run, figures mix two versions**` : " (unchanged through the run)"),
    ...(env.baselineRoot ? [`baseline ("(before)" peers): ${env.baselineRoot} at ${env.baselineCommit}; code hash ${env.baselineCodeHashStart}` +
      (env.baselineCodeHashEnd && env.baselineCodeHashEnd !== env.baselineCodeHashStart ? ` → **${env.baselineCodeHashEnd}: changed during the run**` : " (unchanged through the run)")] : []),
    "",
    `wrk -t1 -c${opts.CONNS} -d${opts.TIME}s --latency, ${opts.ROUNDS} interleaved round(s), medians; ${opts.WARMUP} s unmeasured warm-up per case; ` +
      `origin nginx 1 worker, sendfile, keep-alive; CPU = utime+stime of the proxy's process tree over the run. ` +
      `Run took ${f(opts.seconds, 0)} s.`,
    "",
    "## Summary (ratios: 1 KiB vs HAProxy http 1 thread, 1 MiB vs HAProxy forced splice)",
    "",
    summaryTable(rows),
    "",
    beforeAfterTable(rows),
    "## 1 KiB through a proxy",
    "",
    proxyTable(rows, "1k.bin"),
    "",
    "## 1 MiB through a proxy",
    "",
    proxyTable(rows, "1m.bin"),
    "",
    "## Static 1 MiB file: spliced static vs nginx sendfile",
    "",
    staticTable(rows),
    "",
    "## Targets (ratios in this run)",
    "",
    targetLines(rows),
    "",
    noisy.length ? `Note: other load above 0.15 cores was seen during: ${noisy.map((r) => `${r.peer} ${r.file}`).join(", ")}.\n` : "",
    stolen.length ? `Note: hypervisor steal above 0.05 cores during: ${stolen.map((r) => `${r.peer} ${r.file} (${f(r.stealCores)})`).join(", ")}.\n` : "",
    errs.length ? `Note: wrk saw errors or non-2xx responses in: ${errs.map((r) => `${r.peer} ${r.file} (${errText(r)} of ${r.requests})`).join("; ")}.\n` : "",
    failures.length ? `Failed or skipped: ${failures.map((x) => `${x.peer} (round ${x.round}): ${x.error.split("\n")[0]}`).join("; ")}\n` : "",
    straceSection(straces),
  ].join("\n");
}
