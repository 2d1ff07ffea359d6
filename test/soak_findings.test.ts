/**
 * Two bugs the soak (bench/soak.mjs) found, kept as tests:
 *   - every WebSocket session left its upstream socket open (an fd per session);
 *   - a reload reset kept-alive HTTP connections whose client was about to send
 *     its next request (the retiring generation closed "idle" ones at once).
 */
import assert from "node:assert/strict";
import http from "node:http";
import process from "node:process";
import { test } from "node:test";
import { okUpstream, tempDir, writeConfig } from "./helpers/http.ts";
import { eventually, quietFdCount, sleep, startSpliced } from "./helpers/spliced.ts";
import { startWebSocketEcho } from "./helpers/websocket.ts";

/** One WebSocket session through the proxy: open, echo one message, close. */
function wsSession(port: number, i: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/s${i}`);
    ws.onopen = () => ws.send(`m${i}`);
    ws.onmessage = (e) => {
      assert.equal(String(e.data), `m${i}`);
      ws.close();
    };
    ws.onclose = () => resolve();
    ws.onerror = () => reject(new Error("websocket error"));
  });
}

test("WebSocket sessions leave no fd behind", { timeout: 60_000 }, async () => {
  const origin = await startWebSocketEcho();
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${origin.port}`, "--workers", "1"]);
  try {
    await wsSession(proxy.port, 0);
    const before = await quietFdCount(proxy);
    for (let i = 1; i <= 30; i++) await wsSession(proxy.port, i);
    assert.equal(await quietFdCount(proxy, before), before, "fd count after 30 sessions");
    assert.equal((await proxy.stats()).totals.responses_1xx, 31);
  } finally {
    await proxy.stop();
    await origin.close();
  }
});

/** Sequential keep-alive requests until `stop`; resolves with the errors seen. */
async function keepAliveLoop(port: number, running: () => boolean): Promise<{ ok: number; errors: string[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = { ok: 0, errors: [] as string[] };
  while (running()) {
    await new Promise<void>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) out.ok++;
          else out.errors.push(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        out.errors.push(err.code ?? err.message);
        resolve();
      });
    });
  }
  agent.destroy();
  return out;
}

test("a reload does not reset kept-alive HTTP connections that keep sending", { timeout: 60_000 }, async () => {
  const upstream = await okUpstream();
  const tmp = tempDir();
  const listener = (weight: string) => ({ name: "web", mode: "http", listen: "127.0.0.1:0", connectTimeout: weight, routes: [{ upstreams: [`127.0.0.1:${upstream.port}`] }] });
  const file = writeConfig(tmp.dir, { workers: 1, admin: { listen: "127.0.0.1:0" }, listeners: [listener("5s")] });
  const proxy = await startSpliced(["--config", file]);
  try {
    let running = true;
    const clients = Array.from({ length: 4 }, () => keepAliveLoop(proxy.port, () => running));
    for (let r = 0; r < 4; r++) {
      await sleep(300);
      writeConfig(tmp.dir, { workers: 1, admin: { listen: "127.0.0.1:0" }, listeners: [{ ...listener(`${5 + r + 1}s`), listen: `127.0.0.1:${proxy.port}` }] });
      process.kill(proxy.pid, "SIGHUP");
      assert.ok(await eventually(async () => (await proxy.stats()).generation === r + 2), `reload ${r + 1} applied`);
    }
    await sleep(300);
    running = false;
    const results = await Promise.all(clients);
    assert.deepEqual(results.flatMap((r) => r.errors), []);
    assert.ok(results.every((r) => r.ok > 10), `requests per client: ${results.map((r) => r.ok)}`);
    assert.equal((await proxy.stats()).generation, 5);
  } finally {
    await proxy.stop();
    await upstream.close();
    tmp.remove();
  }
});
