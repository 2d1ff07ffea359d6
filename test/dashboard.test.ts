/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), against `bin/spliced` with an HTTP listener (a route to a
 * real origin, one to a dead port) and a TCP listener (two echo upstreams):
 * - right after the page loads, before any `/events` message (the stream is
 *   held back), the charts already hold the server's history of the traffic
 *   sent before the page opened;
 * - the axis labels uPlot drew (mirrored into the DOM by a draw hook) are
 *   distinct, times read HH:MM:SS, count axes step by whole numbers;
 * - once the stream flows, the latency and status charts gain points with the
 *   traffic; the route and upstream health tables fill; the open connections
 *   are listed; the drain button (with the token typed in) drains an upstream;
 * - no console errors, page errors or failed requests.
 *
 * Skipped, saying so, when /usr/bin/chromium is missing (`.ci/run` installs it).
 * Writes the screenshot to docs/dashboard.png when that file is missing or
 * SPLICED_UPDATE_SCREENSHOT=1, else to a temporary file.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { request, startOrigin } from "./helpers/origin.ts";
import { connect, deadPort, echoServer } from "./helpers/peers.ts";
import { eventually, ROOT, sleep, startSpliced } from "./helpers/spliced.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "dashboard-token-0123456789";
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the dashboard test`;
if (SKIP) console.log(`dashboard test skipped: ${SKIP}`);

/** Flags the probe of this machine found necessary for a quiet headless Chromium. */
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** The charts whose y axis counts things (whole-number steps). */
const COUNT_CHARTS = ["c-status", "c-errors", "c-rate", "c-open"];
const ALL_CHARTS = ["c-path", "c-latency", "c-connect", "c-dir", ...COUNT_CHARTS];

/** Clients that keep writing 256 KiB every 50 ms to an echo upstream until stopped. */
async function tcpTraffic(port: number, n: number): Promise<{ stop(): Promise<void> }> {
  const clients = await Promise.all(Array.from({ length: n }, () => connect(port)));
  const chunk = Buffer.alloc(256 * 1024, 7);
  const timer = setInterval(() => {
    for (const c of clients) if (c.socket.writableLength < 4 * chunk.length) c.socket.write(chunk);
  }, 50);
  return {
    stop: async () => {
      clearInterval(timer);
      for (const c of clients) c.socket.end();
      await Promise.all(clients.map((c) => c.closed));
    },
  };
}

/** HTTP requests one after another until stopped: mostly 200 with a body, every fifth a 404 from the origin. */
function httpTraffic(port: number): { stop(): Promise<number> } {
  let running = true, sent = 0;
  const loop = (async () => {
    while (running) {
      const path = sent % 5 === 4 ? "/api/missing" : `/api/gen?size=${sent % 2 ? 4096 : 200_000}`;
      const r = await request(port, { path });
      assert.equal(r.status, path === "/api/missing" ? 404 : 200);
      sent++;
      await sleep(20);
    }
  })();
  return { stop: async () => ((running = false), await loop, sent) };
}

interface Ticks {
  x: string[];
  y: string[];
  splits: number[];
}

test("dashboard: history at once, clean axes, moving latency and status charts, tables, drain", { skip: SKIP, timeout: 120_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const tmp = tempDir("spliced-dashboard-");
  const tokenFile = join(tmp.dir, "token");
  writeFileSync(tokenFile, TOKEN);
  const origin = await startOrigin();
  const a = await echoServer();
  const b = await echoServer();
  const dead = await deadPort();
  const config = writeConfig(tmp.dir, {
    workers: 2,
    gracePeriod: "1s",
    admin: { listen: "127.0.0.1:0", tokenFile },
    listeners: [
      {
        name: "web", mode: "http", listen: "127.0.0.1:0", routes: [
          { name: "api", path: "/api/", stripPrefix: true, upstreams: [`127.0.0.1:${origin.port}`], healthCheck: { interval: "1s" } },
          { name: "legacy", path: "/legacy/", upstreams: [`127.0.0.1:${dead}`], healthCheck: { interval: "1s", fall: 1 } },
        ],
      },
      { name: "tcp", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] },
    ],
  });
  const proxy = await startSpliced(["--config", config]);
  const browser = await chromium.launchPersistentContext(join(tmp.dir, "profile"), {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 1000 },
  });
  let tcp: { stop(): Promise<void> } | undefined;
  let http: { stop(): Promise<number> } | undefined;
  const problems: string[] = [];
  try {
    // Traffic before the page opens: what the history must show at once.
    http = httpTraffic(proxy.ports.web);
    for (let i = 0; i < 3; i++) assert.equal((await request(proxy.ports.web, { path: "/nothing-here" })).status, 404);
    await sleep(3500);

    const page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => !r.url().endsWith("/events") && problems.push(`request failed: ${r.url()}`));
    const held: { continue(): Promise<void> }[] = [];
    await page.route("**/events", (route) => void held.push(route)); // no live message until we say so
    const res = await page.goto(`http://127.0.0.1:${proxy.adminPort}/`);
    assert.equal(res?.status(), 200);

    const dash = <T>(fn: string) => page.evaluate(`(${fn})(window.splicedDashboard)`) as Promise<T>;
    assert.ok(await eventually(async () => (await dash<number>("(d) => d.points()")) >= 3, 10_000), "history points loaded");
    assert.equal(await dash<number>("(d) => d.events()"), 0, "no /events message has arrived yet");
    assert.equal(await page.locator(".uplot canvas").count(), ALL_CHARTS.length, "every chart drawn");
    const reqs = await dash<(number | null)[]>(`(d) => d.series("totals", "rates.requests_total")`);
    assert.ok(reqs.some((v) => v !== null && v > 0), "the requests/s history shows the traffic sent before the page opened");
    const p99 = await dash<(number | null)[]>(`(d) => d.series("route:web/api", "latency.http_request_seconds.p99")`);
    assert.ok(p99.some((v) => v !== null && v > 0), "the route's latency history is there");
    // requests/s, request p99, 2xx/s: the series uPlot holds
    const drawn = await dash<number[]>(`(d) => [["c-rate", 2], ["c-latency", 3], ["c-status", 2]].map(([id, s]) => d.chartData(id)[s].filter((v) => v > 0).length)`);
    for (const n of drawn) assert.ok(n > 0, `the charts hold data points before any live message: ${drawn}`);
    await assertAxes();

    // Let the stream flow.
    for (const r of held) await r.continue();
    await page.unroute("**/events");
    await page.waitForSelector("#live.on", { timeout: 10_000 });
    assert.ok(await eventually(async () => (await dash<number>("(d) => d.events()")) >= 1, 10_000), "live messages arrive");

    tcp = await tcpTraffic(proxy.ports.tcp, 4);
    const lastTime = await dash<number>("(d) => d.store.time.at(-1)");
    assert.ok(await eventually(async () => {
      const [time, , , p99s] = await dash<number[][]>(`(d) => d.chartData("c-latency")`);
      const [, , ok2xx, , err4xx] = await dash<number[][]>(`(d) => d.chartData("c-status")`);
      const newer = time.map((t, i) => i).filter((i) => time[i] > lastTime);
      return newer.length >= 2 && newer.some((i) => p99s[i] > 0) && newer.some((i) => ok2xx[i] > 0) && newer.some((i) => err4xx[i] > 0);
    }, 20_000), "latency and status charts gain points with the traffic (2xx and the origin's 404s)");
    assert.ok(await eventually(async () => (await page.textContent("#t-active")) === "4", 15_000), "open connections tile shows 4");
    assert.ok(await eventually(async () => {
      const open = await dash<number[][]>(`(d) => d.chartData("c-open")`);
      const spliced = await dash<number[][]>(`(d) => d.chartData("c-path")`);
      return open[1].at(-1) === 4 && spliced[1].slice(-2).every((v) => v > 0);
    }, 20_000), "open connections and spliced bytes charts move with the TCP traffic");
    assert.match((await page.textContent("#t-zero-copy")) ?? "", /^\d+(\.\d)? %$/);
    assert.match((await page.textContent("#t-p99")) ?? "", /^\d+(\.\d+)? (µs|ms|s)$/);
    await assertAxes();

    // Tables: routes, upstream health, listeners, connections.
    const route = await page.locator('#routes tbody tr[data-id="web/api"] td').allTextContents();
    assert.equal(route[0], "web/api");
    assert.ok(Number(route[3]) > 0, `requests/s ${route[3]}`);
    assert.match(route[4], /^\d+(\.\d+)? (µs|ms|s)$/, "p99");
    assert.equal(route[5], "0.0 %", "no 5xx");
    assert.ok(await eventually(async () => {
      const legacy = await page.locator(`#health tbody tr[data-id="web/legacy/127.0.0.1:${dead}"] td`).allTextContents();
      return legacy[1] === "down" && legacy[5].length > 0;
    }, 15_000), "the dead upstream shows down, with its last error");
    const apiHealth = await page.locator(`#health tbody tr[data-id="web/api/127.0.0.1:${origin.port}"] td`).allTextContents();
    assert.equal(apiHealth[1], "up");
    assert.match(apiHealth[2], /ago$/);
    assert.ok(await eventually(async () => (await page.locator("#connections tbody tr").count()) === 4, 10_000), "open connections listed");
    const listener = await page.locator('#listeners tbody tr[data-id="tcp"] td').allTextContents();
    assert.equal(listener[3], "4");

    // The scope selector: the route's own charts.
    await page.selectOption("#scope", "route:web/api");
    const routeRate = await dash<number[][]>(`(d) => d.chartData("c-rate")`);
    assert.ok(routeRate[2].some((v) => v > 0), "the route's requests/s");
    const routeOpen = await dash<number[][]>(`(d) => d.chartData("c-open")`);
    assert.ok(routeOpen[1].every((v) => v < 4), "not the TCP listener's 4 open connections");
    await page.selectOption("#scope", "route:web/legacy"); // no traffic at all: idle axes, still distinct labels
    assert.ok((await dash<number[][]>(`(d) => d.chartData("c-path")`))[1].every((v) => v === 0));
    await assertAxes();
    await page.selectOption("#scope", "totals");

    await page.waitForTimeout(4000); // a few more points for the picture
    const shot = process.env.SPLICED_UPDATE_SCREENSHOT === "1" || !existsSync(join(ROOT, "docs/dashboard.png"))
      ? join(ROOT, "docs/dashboard.png")
      : join(tmp.dir, "dashboard.png");
    mkdirSync(join(shot, ".."), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });

    // The window selector: minute points from the server (none or one yet, this proxy is seconds old), then back.
    await page.selectOption("#window", "1h");
    assert.ok(await eventually(async () => /60 s apart$/.test((await page.textContent("#history-note")) ?? ""), 10_000), "1 h of minute points loaded");
    assert.ok((await dash<number>("(d) => d.points()")) <= 1);
    await page.selectOption("#window", "15m");
    assert.ok(await eventually(async () => (await dash<number>("(d) => d.points()")) >= 10, 10_000), "back to the 1 s points");

    // Drain through the page: the token goes in the header field, the button does the rest.
    const id = `tcp/127.0.0.1:${a.port}`;
    const row = page.locator(`#upstreams tbody tr[data-id="${id}"]`);
    assert.equal(await row.locator(".state").textContent(), "up");
    assert.equal(await row.locator(".health").textContent(), "unchecked", "no healthCheck on the TCP listener");
    await page.fill("#token", TOKEN);
    await row.locator('button[data-action="drain"]').click();
    assert.ok(await eventually(async () => (await row.locator(".state").textContent()) === "draining", 10_000), "the row shows draining");
    const api = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/upstreams/${encodeURIComponent(id)}`)).json();
    assert.equal(api.state, "draining", "the proxy drained it");
    assert.match((await page.textContent("#message")) ?? "", /draining/);
    const before = a.connections.length;
    for (let i = 0; i < 4; i++) {
      const c = await connect(proxy.ports.tcp);
      c.socket.end("x");
      await c.closed;
    }
    assert.equal(a.connections.length, before, "the drained upstream gets no new connection");

    assert.deepEqual(problems, [], "no console errors, page errors or failed requests");

    /** The labels uPlot drew on every chart: distinct, clock times on x, whole steps on count axes. */
    async function assertAxes(): Promise<void> {
      for (const id of ALL_CHARTS) {
        const t = await page.evaluate(`(() => {
          const d = document.querySelector("#${id} .uplot").dataset;
          return { x: JSON.parse(d.xTicks ?? "[]"), y: JSON.parse(d.yTicks ?? "[]"), splits: JSON.parse(d.ySplits ?? "[]") };
        })()`) as Ticks;
        assert.ok(t.x.length >= 2 && t.y.length >= 2, `${id}: axes drawn ${JSON.stringify(t)}`);
        for (const label of t.x) assert.match(label, /^\d\d:\d\d:\d\d$/, `${id}: x tick "${label}" reads as a clock time`);
        assert.equal(new Set(t.x).size, t.x.length, `${id}: distinct x labels ${t.x}`);
        assert.equal(new Set(t.y).size, t.y.length, `${id}: distinct y labels ${t.y}`);
        if (COUNT_CHARTS.includes(id)) for (const v of t.splits) assert.ok(Number.isInteger(v), `${id}: count axis steps by whole numbers (${t.splits})`);
        if (id === "c-path" || id === "c-dir") for (const label of t.y) assert.match(label, /^\d+(\.\d+)? [kMGT]?B\/s$/, `${id}: SI byte rate "${label}"`);
      }
    }
  } finally {
    await browser.close();
    await tcp?.stop();
    await http?.stop().catch(() => 0);
    await proxy.stop();
    await a.close();
    await b.close();
    await origin.close();
    tmp.remove();
  }
});

test("dashboard: the page and its assets are served from node_modules, no CDN", () => {
  // Static check that runs even without Chromium: every URL in the page is relative.
  const html = readFileSync(join(ROOT, "src/admin/dashboard.html"), "utf8");
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => u !== "{{BASE}}");
  assert.ok(urls.length >= 4);
  for (const u of urls) assert.ok(!/^(https?:)?\/\//.test(u), `${u} is not remote`);
  const js = readFileSync(join(ROOT, "src/admin/dashboard.js"), "utf8");
  assert.ok(!/https?:\/\//.test(js), "the script fetches nothing remote");
});
