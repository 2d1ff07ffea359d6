// The markdown report: medians per peer and stream count, ratios vs HAProxy, strace, idle memory.

export function median(xs) {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const f = (x, d = 2) => (x === null || x === undefined ? "—" : x.toFixed(d));
const HAPROXY = "HAProxy 1 thread, splice";
const CPU_TARGET = 0.8;
const GBPS_TARGET = 1.0;

/** Per (peer, streams): medians and the per-round values, in peer order of first appearance. */
export function summarize(results) {
  const groups = new Map();
  for (const r of results) {
    const key = `${r.peer}\u0000${r.streams}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  return [...groups.values()].map((rs) => {
    rs.sort((a, b) => a.round - b.round);
    return {
      peer: rs[0].peer,
      kind: rs[0].peer.startsWith("direct") ? "direct" : "proxy",
      streams: rs[0].streams,
      rounds: rs,
      gbPerSec: median(rs.map((r) => r.gbPerSec)),
      cpuPerGB: median(rs.map((r) => r.cpuPerGB)),
      proxyCores: median(rs.map((r) => r.proxyCores)),
      proxyUserShare: median(rs.map((r) => r.proxyUserShare)),
      wakeupsPerMiB: median(rs.map((r) => r.wakeupsPerMiB)),
      preemptionsPerMiB: median(rs.map((r) => r.preemptionsPerMiB)),
      clientCpuPct: median(rs.map((r) => r.clientCpuPct)),
      serverCpuPct: median(rs.map((r) => r.serverCpuPct)),
      boxCpuPerGB: median(rs.map((r) => r.boxCpuPerGB)),
      trioCpuPerGB: median(rs.map((r) => r.trioCpuPerGB)),
      machineBusyCores: median(rs.map((r) => r.machineBusyCores)),
      foreignCores: Math.max(...rs.map((r) => r.foreignCores)),
      copiedBytes: rs.reduce((a, r) => a + (r.copiedBytes ?? 0), 0),
    };
  });
}

function throughputTable(rows, streams) {
  const base = rows.find((r) => r.peer === HAPROXY && r.streams === streams);
  const direct = rows.find((r) => r.kind === "direct" && r.streams === streams);
  const lines = [
    "| Peer | GB/s | proxy CPU-s/GB | proxy cores | proxy user-space % | GB/s ÷ HAProxy | CPU-s/GB ÷ HAProxy | GB/s per round | CPU-s/GB per round | proxy sleeps / preemptions per MiB | iperf3 client / server CPU % | box busy (of 2 cores) | client+proxy+server CPU-s/GB | box CPU-s/GB | box CPU-s/GB over direct |",
    "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows.filter((x) => x.streams === streams)) {
    const gRatio = base && r.peer !== HAPROXY && r.cpuPerGB !== null ? r.gbPerSec / base.gbPerSec : null;
    const cRatio = base && r.peer !== HAPROXY && r.cpuPerGB !== null ? r.cpuPerGB / base.cpuPerGB : null;
    lines.push(`| ${r.peer} | ${f(r.gbPerSec)} | ${f(r.cpuPerGB, 3)} | ${f(r.proxyCores)} | ${r.proxyUserShare === null ? "—" : f(100 * r.proxyUserShare, 0)} | ${f(gRatio)} | ${f(cRatio)} | ` +
      `${r.rounds.map((x) => f(x.gbPerSec)).join(" / ")} | ${r.rounds.map((x) => f(x.cpuPerGB, 3)).join(" / ")} | ` +
      `${f(r.wakeupsPerMiB)} / ${f(r.preemptionsPerMiB)} | ${f(r.clientCpuPct, 0)} / ${f(r.serverCpuPct, 0)} | ${f(r.machineBusyCores)} | ${f(r.trioCpuPerGB, 3)} | ${f(r.boxCpuPerGB, 3)} | ` +
      `${direct && r !== direct ? f(r.boxCpuPerGB - direct.boxCpuPerGB, 3) : "—"} |`);
  }
  return lines.join("\n");
}

export function ratioLines(rows) {
  const out = [];
  for (const r of rows) {
    if (!r.peer.startsWith("spliced")) continue;
    const base = rows.find((x) => x.peer === HAPROXY && x.streams === r.streams);
    if (!base || r.cpuPerGB === null) continue;
    const c = r.cpuPerGB / base.cpuPerGB;
    const g = r.gbPerSec / base.gbPerSec;
    out.push(`- ${r.peer}, ${r.streams} stream${r.streams > 1 ? "s" : ""}: CPU-s/GB ${f(c)}× HAProxy ` +
      `(${c <= CPU_TARGET ? "meets" : "misses"} ≤ ${CPU_TARGET}×), GB/s ${f(g)}× HAProxy ` +
      `(${g >= GBPS_TARGET ? "meets" : "misses"} ≥ ${GBPS_TARGET.toFixed(1)}×); client+proxy+server CPU-s/GB ` +
      `${f(r.trioCpuPerGB / base.trioCpuPerGB)}×, whole-box ${f(r.boxCpuPerGB / base.boxCpuPerGB)}× HAProxy's`);
  }
  return out.join("\n");
}

const spread = (xs) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x));
  return v.length ? (Math.max(...v) - Math.min(...v)) / median(v) : null;
};

/** With baseline peers ("… (before)"): after ÷ before per peer and stream count, against the rounds' spread. */
export function beforeAfterTable(rows) {
  const pairs = rows.filter((r) => r.peer.endsWith(" (before)"))
    .map((b) => [rows.find((a) => a.peer === b.peer.replace(/ \(before\)$/, "") && a.streams === b.streams), b])
    .filter(([a]) => a);
  if (!pairs.length) return "";
  const lines = [
    "## After ÷ before (same run, interleaved rounds)",
    "",
    "Spread = (max − min) ÷ median of the per-round values, after / before.",
    "",
    "| Peer | streams | GB/s after / before | GB/s after ÷ before | GB/s spread after / before | CPU-s/GB after / before | CPU-s/GB after ÷ before | CPU-s/GB spread after / before |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const pct = (x) => (x === null ? "—" : `${(100 * x).toFixed(0)} %`);
  for (const [a, b] of pairs) {
    lines.push(`| ${a.peer} | ${a.streams} | ${f(a.gbPerSec)} / ${f(b.gbPerSec)} | ${f(a.gbPerSec / b.gbPerSec)} | ` +
      `${pct(spread(a.rounds.map((x) => x.gbPerSec)))} / ${pct(spread(b.rounds.map((x) => x.gbPerSec)))} | ` +
      `${f(a.cpuPerGB, 3)} / ${f(b.cpuPerGB, 3)} | ${f(a.cpuPerGB / b.cpuPerGB)} | ` +
      `${pct(spread(a.rounds.map((x) => x.cpuPerGB)))} / ${pct(spread(b.rounds.map((x) => x.cpuPerGB)))} |`);
  }
  return lines.join("\n") + "\n";
}

function straceSection(straces) {
  if (!straces.length) return "";
  const parts = ["## Syscalls during a 1 GiB warm-up transfer under `strace -f -c` (not a measured run)", ""];
  for (const s of straces) {
    const mib = s.bytes / 2 ** 20;
    parts.push(`### ${s.peer}: ${f(mib, 0)} MiB moved (${f(s.gbPerSecUnderStrace)} GB/s under strace)` +
      (s.spliced ? `; admin counters: ${s.spliced.bytesSpliced} bytes spliced, ${s.spliced.bytesCopied} copied` : ""), "");
    parts.push("| syscall | calls | errors | calls per MiB |", "|---|---:|---:|---:|");
    for (const r of s.rows.slice(0, 12)) parts.push(`| ${r.syscall} | ${r.calls} | ${r.errors || ""} | ${f(r.perMiB, 2)} |`);
    parts.push("", `Full summary: \`${s.file}\``, "");
  }
  return parts.join("\n");
}

function idleSection(idle) {
  if (!idle.length) return "";
  const lines = [
    `## Idle connections: RSS before and after ${idle[0].connections} idle proxied connections`,
    "",
    "| Peer | held upstream | active (admin) | RSS before MiB | RSS after MiB | added MiB | bytes/conn | after close MiB | fds after | pipes after | < 64 MiB added |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of idle) {
    lines.push(`| ${r.peer} | ${r.upstreamHeld} | ${r.activeReported ?? "—"} | ${f(r.rssBeforeMiB, 1)} | ${f(r.rssAfterMiB, 1)} | ${f(r.addedMiB, 1)} | ` +
      `${f(r.bytesPerConn, 0)} | ${f(r.rssAfterCloseMiB, 1)} | ${r.fdsAfter} | ${r.pipesAfter} | ` +
      `${r.peer.startsWith("spliced") ? (r.addedMiB < 64 ? "yes" : "no") : ""} |`);
  }
  return lines.join("\n") + "\n";
}

export function report({ env, results, straces, idle, failures = [], opts }) {
  const rows = summarize(results);
  const noisy = rows.filter((r) => r.foreignCores > 0.15);
  const copied = rows.filter((r) => r.copiedBytes > 0);
  return [
    "# spliced TCP benchmark",
    "",
    `- date: ${env.date}; bench took ${f(opts.seconds, 0)} s`,
    `- machine: ${env.cpus} cores (${env.cpuModel}), ${env.memGiB} GiB, kernel ${env.kernel}, fs.pipe-max-size ${env.pipeMaxSize}`,
    `- runtimes: ${env.deno.replace(/\n/g, " ")}; bun ${env.bun}; node ${env.node}`,
    `- peers: ${env.haproxy}; ${env.nginx}; ${env.socat}; ${env.iperf3}`,
    `- method: iperf3 client → proxy → iperf3 server on 127.0.0.1, client sending, ${opts.TIME} s per run, ` +
      `${opts.STREAMS.join(" and ")} stream(s), ${opts.ROUNDS} interleaved rounds (order rotated), medians; ` +
      "each proxy started fresh per round and warmed with 256 MiB first. GB = 10⁹ bytes received by the iperf3 server. " +
      "proxy CPU-s/GB = utime+stime(+reaped children) of the proxy's process tree over the run ÷ GB. " +
      "Sleeps/preemptions per MiB = voluntary/involuntary context switches of all proxy threads ÷ MiB moved " +
      "(a voluntary switch is a blocking epoll_wait that slept). " +
      "Box CPU-s/GB = busy core-seconds of the whole machine (from /proc/stat, other load subtracted) ÷ GB: client, proxy, " +
      "server and kernel together, which does not depend on which process the kernel charges loopback TCP work to. " +
      "Client+proxy+server CPU-s/GB = the same from per-process times (iperf3's own CPU % for client and server), " +
      "less sensitive to other load on the box.",
    env.splicedCommit ? `- spliced: ${env.splicedCommit}` +
      (env.baselineCommit ? `; "(before)" peers: ${env.baselineRoot} at ${env.baselineCommit}` : "") : "",
    "- `w1`/`w2`: spliced data-plane workers; w2 is the default (one per core) and on this 2-core box competes with the iperf3 client and server for the cores.",
    "",
    "## 1 stream (`iperf3 -P 1`)",
    "",
    throughputTable(rows, 1),
    "",
    "## 4 streams (`iperf3 -P 4`, iperf3 3.12 is single-threaded)",
    "",
    throughputTable(rows, 4),
    "",
    "## Ratios vs HAProxy (targets: CPU-s/GB ≤ 0.8×, GB/s ≥ 1.0×)",
    "",
    ratioLines(rows),
    "",
    beforeAfterTable(rows),
    noisy.length ? `Note: other load above 0.15 cores was seen during: ${noisy.map((r) => `${r.peer} P${r.streams}`).join(", ")}.\n` : "",
    copied.length ? `Note: spliced copied (not spliced) bytes in: ${copied.map((r) => `${r.peer} P${r.streams}`).join(", ")}.\n` : "",
    failures.length ? `Failed or skipped: ${failures.map((x) => `${x.peer} (round ${x.round}): ${x.error.split("\n")[0]}`).join("; ")}\n` : "",
    straceSection(straces),
    idleSection(idle),
  ].join("\n");
}
