/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): the page loads without console errors, its numbers and
 * charts move while traffic flows, the open connections are listed, and the
 * drain button (with the token typed in) drains the upstream.
 *
 * Skipped, saying so, when /usr/bin/chromium is missing (`.ci/run` installs it).
 * Writes the screenshot to docs/dashboard.png when that file is missing or
 * SPLICED_UPDATE_SCREENSHOT=1, else to a temporary file.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { connect, echoServer } from "./helpers/peers.ts";
import { eventually, ROOT, startSpliced } from "./helpers/spliced.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "dashboard-token-0123456789";
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the dashboard test`;
if (SKIP) console.log(`dashboard test skipped: ${SKIP}`);

/** Flags the probe of this machine found necessary for a quiet headless Chromium. */
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Clients that keep writing 256 KiB every 50 ms to an echo upstream until stopped. */
async function traffic(port: number, n: number): Promise<{ stop(): Promise<void> }> {
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

test("dashboard: loads clean in Chromium, moves with traffic, drains an upstream", { skip: SKIP, timeout: 120_000 }, async () => {
  const { chromium } = await import("playwright-core");
  const dir = mkdtempSync(join(tmpdir(), "spliced-dashboard-"));
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, TOKEN);
  const a = await echoServer();
  const b = await echoServer();
  const proxy = await startSpliced([
    "tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${a.port},127.0.0.1:${b.port}`, "--workers", "2",
    "--admin", "127.0.0.1:0", "--admin-token-file", tokenFile, "--grace-period", "1s",
  ]);
  const browser = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 1000 },
  });
  let load: { stop(): Promise<void> } | undefined;
  const problems: string[] = [];
  try {
    const page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => !r.url().endsWith("/events") && problems.push(`request failed: ${r.url()}`));
    const url = `http://127.0.0.1:${proxy.adminPort}/`;
    const res = await page.goto(url);
    assert.equal(res?.status(), 200);
    await page.waitForSelector("#live.on", { timeout: 10_000 });
    await page.waitForSelector("#upstreams tbody tr[data-id]", { timeout: 10_000 });
    assert.equal(await page.locator(".uplot canvas").count(), 4, "four charts drawn");
    assert.equal(await page.textContent("#t-active"), "0");
    const bytesBefore = await page.textContent("#t-bytes");

    load = await traffic(proxy.port, 4);
    const history = () => page.evaluate(() => (globalThis as any).splicedDashboard.history);
    assert.ok(await eventually(async () => (await page.textContent("#t-active")) === "4", 15_000), "open connections tile shows 4");
    assert.ok(await eventually(async () => {
      const h = await history();
      return h.time.length >= 4 && h.spliced.slice(-3).every((v: number) => v > 0) && h.c2u.at(-1) > 0 && h.open.at(-1) === 4;
    }, 20_000), "the charts' series move with the traffic");
    assert.notEqual(await page.textContent("#t-bytes"), bytesBefore, "bytes moved tile moves");
    assert.match((await page.textContent("#t-zero-copy")) ?? "", /^\d+(\.\d)? %$/);
    assert.ok(await eventually(async () => (await page.locator("#connections tbody tr").count()) === 4, 10_000), "open connections listed");
    assert.match((await page.textContent("#conn-count")) ?? "", /\(4\)/);
    const listener = await page.locator('#listeners tbody tr[data-id="tcp"] td').allTextContents();
    assert.equal(listener[0], "tcp");
    assert.equal(listener[3], "4");

    await page.waitForTimeout(3000); // a few more points for the picture
    const shot = process.env.SPLICED_UPDATE_SCREENSHOT === "1" || !existsSync(join(ROOT, "docs/dashboard.png"))
      ? join(ROOT, "docs/dashboard.png")
      : join(dir, "dashboard.png");
    mkdirSync(join(shot, ".."), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });

    // Drain through the page: the token goes in the header field, the button does the rest.
    const id = `tcp/127.0.0.1:${a.port}`;
    const row = page.locator(`#upstreams tbody tr[data-id="${id}"]`);
    assert.equal(await row.locator(".state").textContent(), "up");
    // Health is its own badge (no healthCheck configured and no failure: unchecked), with no error next to it.
    assert.equal(await row.locator(".health").textContent(), "unchecked");
    assert.equal(await row.locator(".last-error").textContent(), "");
    await page.fill("#token", TOKEN);
    await row.locator('button[data-action="drain"]').click();
    assert.ok(await eventually(async () => (await row.locator(".state").textContent()) === "draining", 10_000), "the row shows draining");
    const api = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/upstreams/${encodeURIComponent(id)}`)).json();
    assert.equal(api.state, "draining", "the proxy drained it");
    assert.match((await page.textContent("#message")) ?? "", /draining/);
    const before = a.connections.length;
    for (let i = 0; i < 4; i++) {
      const c = await connect(proxy.port);
      c.socket.end("x");
      await c.closed;
    }
    assert.equal(a.connections.length, before, "the drained upstream gets no new connection");

    assert.deepEqual(problems, [], "no console errors, page errors or failed requests");
  } finally {
    await browser.close();
    await load?.stop();
    await proxy.stop();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dashboard: the page and its assets are served from node_modules, no CDN", async () => {
  // Static check that runs even without Chromium: every URL in the page is relative.
  const { readFileSync } = await import("node:fs");
  const html = readFileSync(join(ROOT, "src/admin/dashboard.html"), "utf8");
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => u !== "{{BASE}}");
  assert.ok(urls.length >= 4);
  for (const u of urls) assert.ok(!/^(https?:)?\/\//.test(u), `${u} is not remote`);
  const js = readFileSync(join(ROOT, "src/admin/dashboard.js"), "utf8");
  assert.ok(!/https?:\/\//.test(js), "the script fetches nothing remote");
});
