// Cost of the admin plane on the data plane (issues 5 and 11): bulk TCP throughput and proxy
// CPU-s/GB through spliced with nobody watching, against the same with the dashboard open
// in headless Chromium (history loaded at open, then /events) and /metrics scraped 10 times
// a second, and against the same with /stats/history (15m and 24h) and /stats/latency polled
// 10 times a second each. Interleaved rounds, medians.
//   node bench/admin_cost.mjs [--runtime bun|deno] [--rounds 3] [--time 5]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { iperfClient, startIperfServer } from "./lib/iperf.mjs";
import { freePorts, peerDefs, sleep } from "./lib/peers.mjs";
import { CLK_TCK, snapshot, treeCpuSeconds } from "./lib/proc.mjs";
import { median } from "./lib/report.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const { values: opt } = parseArgs({
  options: {
    runtime: { type: "string", default: "bun" },
    rounds: { type: "string", default: "3" },
    time: { type: "string", default: "5" },
  },
});

/** Opens the dashboard in headless Chromium and scrapes /metrics every 100 ms until stopped. */
async function startWatchers(admin) {
  const { chromium } = await import("playwright-core");
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "spliced-bench-chromium-"));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${admin}/`);
  let scraping = true, scrapes = 0;
  const loop = (async () => {
    while (scraping) {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${admin}/metrics`);
      await res.text();
      scrapes++;
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();
  return {
    async stop() {
      scraping = false;
      await loop;
      await browser.close();
      fs.rmSync(userDir, { recursive: true, force: true });
      return scrapes;
    },
  };
}

/** Fetches /stats/history?window=15m, ?window=24h and /stats/latency every 100 ms each until stopped. */
function startHistoryPollers(admin) {
  let polling = true, polls = 0;
  const paths = ["/stats/history?window=15m", "/stats/history?window=24h", "/stats/latency", "/stats/latency?scope=listener:tcp"];
  const loops = paths.map(async (p) => {
    while (polling) {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${admin}${p}`);
      if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      polls++;
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  });
  return {
    async stop() {
      polling = false;
      await Promise.all(loops);
      return polls;
    },
  };
}

/** CPU seconds of the proxy's data-plane threads (Bun names them "Worker", Deno "worker-N"). */
function workerThreadSeconds(pid) {
  let ticks = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    if (!/^(Worker|worker-\d+)$/.test(comm)) continue;
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLK_TCK;
}

async function measure(proxy, seconds) {
  const pid = proxy.proc.child.pid;
  const before = treeCpuSeconds(snapshot(), proxy.pid), workersBefore = workerThreadSeconds(pid);
  const r = await iperfClient(proxy.port, { time: seconds });
  const cpu = treeCpuSeconds(snapshot(), proxy.pid) - before;
  const workers = workerThreadSeconds(pid) - workersBefore;
  const gb = r.bytes / 1e9;
  return { gbPerSec: r.gbPerSec, cpuPerGb: cpu / gb, workerCpuPerGb: workers / gb };
}

async function main() {
  const [iperfPort, port, admin] = await freePorts(3);
  const iperf = await startIperfServer(iperfPort);
  const def = peerDefs().find((p) => p.kind === "spliced" && p.runtime === opt.runtime && p.workers === 1);
  const proxy = await def.start({ port, upstream: iperfPort, admin, root, dir: os.tmpdir() });
  const rows = { idle: [], watched: [], polled: [] };
  let scrapes = 0, polls = 0;
  try {
    await iperfClient(port, { bytes: 256 << 20 });
    for (let round = 0; round < Number(opt.rounds); round++) {
      const modes = ["idle", "watched", "polled"];
      const order = [...modes.slice(round % 3), ...modes.slice(0, round % 3)];
      for (const mode of order) {
        const watchers = mode === "watched" ? await startWatchers(admin) : undefined;
        const pollers = mode === "polled" ? startHistoryPollers(admin) : undefined;
        if (watchers || pollers) await sleep(1500);
        rows[mode].push(await measure(proxy, Number(opt.time)));
        if (watchers) scrapes += await watchers.stop();
        if (pollers) polls += await pollers.stop();
      }
    }
  } finally {
    await proxy.stop();
    iperf.child.kill("SIGKILL");
  }
  const summary = (list) => ({
    gbPerSec: median(list.map((r) => r.gbPerSec)), cpuPerGb: median(list.map((r) => r.cpuPerGb)),
    workerCpuPerGb: median(list.map((r) => r.workerCpuPerGb)),
  });
  const idle = summary(rows.idle), watched = summary(rows.watched), polled = summary(rows.polled);
  const LABELS = { idle: "nobody watching", watched: "dashboard open + /metrics 10/s", polled: "/stats/history 15m+24h and /stats/latency x2, 10/s each" };
  const pct = (a, b) => `${(((b - a) / a) * 100).toFixed(1)} %`;
  const lines = [
    `# Admin cost: spliced ${opt.runtime}, 1 worker, iperf3 1 stream, ${opt.time} s x ${opt.rounds} rounds (medians)`,
    "",
    "| mode | GB/s | data-plane threads CPU-s/GB | whole proxy CPU-s/GB | GB/s per round | data-plane CPU-s/GB per round |",
    "|---|---:|---:|---:|---|---|",
    ...["idle", "watched", "polled"].map((m) => {
      const s = { idle, watched, polled }[m];
      return `| ${LABELS[m]} | ${s.gbPerSec.toFixed(2)} | ${s.workerCpuPerGb.toFixed(3)} | ${s.cpuPerGb.toFixed(3)} | ${rows[m].map((r) => r.gbPerSec.toFixed(2)).join(" / ")} | ${rows[m].map((r) => r.workerCpuPerGb.toFixed(3)).join(" / ")} |`;
    }),
    "",
    `Watched vs idle: GB/s ${pct(idle.gbPerSec, watched.gbPerSec)}, data-plane CPU-s/GB ${pct(idle.workerCpuPerGb, watched.workerCpuPerGb)}, whole-proxy CPU-s/GB ${pct(idle.cpuPerGb, watched.cpuPerGb)}.`,
    `Polled vs idle: GB/s ${pct(idle.gbPerSec, polled.gbPerSec)}, data-plane CPU-s/GB ${pct(idle.workerCpuPerGb, polled.workerCpuPerGb)}, whole-proxy CPU-s/GB ${pct(idle.cpuPerGb, polled.cpuPerGb)}.`,
    `The whole-proxy figure includes the main thread serving the ${scrapes} scrapes and the dashboard's event stream, and the ${polls} history/latency polls; Chromium itself is not counted.`,
  ];
  console.log(lines.join("\n"));
  fs.mkdirSync(path.join(root, "bench/out"), { recursive: true });
  fs.writeFileSync(path.join(root, "bench/out/admin-cost.md"), lines.join("\n") + "\n");
}

await main();
