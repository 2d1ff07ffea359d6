/**
 * What a person sees when FFI cannot work, and IPv6 end to end.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import net from "node:net";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT, startSpliced } from "./helpers/spliced.ts";

const run = promisify(execFile);

test("ffi: Deno without --allow-ffi says how to fix it, exit 1, no stack trace", { timeout: 60_000 }, async () => {
  const args = ["run", "--no-prompt", "--allow-read", "--allow-env", "--allow-net", "--allow-sys", "src/cli.ts", "tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1"];
  const err = await run(`${ROOT}node_modules/.bin/deno`, args, { cwd: ROOT, timeout: 50_000 }).then(() => undefined, (e) => e);
  assert.ok(err, "the start must fail");
  assert.equal(err.code, 1);
  assert.match(err.stderr, /^spliced: FFI is not allowed: run Deno with --allow-ffi/);
  assert.doesNotMatch(err.stderr, /\n\s+at /);
});

function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(0, "::1", () => s.close(() => resolve(true)));
  });
}

test("tcp: IPv6 listener and IPv6 upstream ([::1])", { timeout: 60_000 }, async (t) => {
  if (!(await hasIpv6Loopback())) return t.skip("no ::1 on this machine");
  const upstream = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => upstream.listen(0, "::1", resolve));
  const port = (upstream.address() as net.AddressInfo).port;
  const proxy = await startSpliced(["tcp", "--listen", "[::1]:0", "--to", `[::1]:${port}`]);
  try {
    assert.match(proxy.output(), /listener tcp tcp \[::1\]:\d+ ->/);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: "::1", port: proxy.port }, () => c.end("over v6"));
      let text = "";
      c.on("data", (d) => (text += d));
      c.on("close", () => resolve(text));
      c.on("error", reject);
    });
    assert.equal(reply, "over v6");
    const stats = await proxy.stats();
    assert.equal(stats.upstreams[`tcp/[::1]:${port}`].bytes_client_to_upstream, 7);
  } finally {
    await proxy.stop();
    upstream.close();
  }
});
