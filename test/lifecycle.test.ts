/**
 * End-to-end: graceful shutdown with a transfer in flight, and the CLI's
 * answers to bad input (exit codes, messages naming file, field and problem).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { connect, exchangeServer, Payload, sendPayload } from "./helpers/peers.ts";
import { eventually, runCli, startSpliced } from "./helpers/spliced.ts";

const dir = mkdtempSync(join(tmpdir(), "spliced-test-"));

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

test("shutdown: SIGTERM lets an in-flight transfer finish, refuses new clients, exits 0", { timeout: 60_000 }, async () => {
  const size = 32 * 1024 * 1024;
  const server = await exchangeServer(size);
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`, "--grace-period", "20s"]);
  try {
    const client = await connect(proxy.port);
    client.socket.pause();
    await eventually(() => server.connections.length === 1);
    const exited = proxy.stop("SIGTERM");
    await eventually(() => /draining/.test(proxy.output()));
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(proxy.port, "127.0.0.1");
      s.on("error", () => resolve(true));
      s.on("connect", () => { s.destroy(); resolve(false); });
    });
    assert.ok(refused, "new connections are refused while draining");
    client.socket.resume();
    const payload = new Payload(1000);
    await sendPayload(client.socket, payload);
    await client.closed;
    assert.equal(client.received.bytes, size);
    assert.equal(client.received.digest(), server.connections[0].sentDigest);
    assert.equal(await exited, 0);
  } finally {
    proxy.child.kill("SIGKILL");
    await server.close();
  }
});

test("shutdown: past the grace period open connections are closed and the exit is 0", { timeout: 30_000 }, async () => {
  const server = await exchangeServer(0);
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`, "--grace-period", "300ms"]);
  const client = await connect(proxy.port);
  await eventually(() => server.connections.length === 1);
  assert.equal(await proxy.stop("SIGTERM"), 0);
  await client.ended;
  client.socket.destroy();
  await server.close();
});

test("shutdown: a second signal exits at once", { timeout: 30_000 }, async () => {
  const server = await exchangeServer(0);
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`, "--grace-period", "60s"]);
  const client = await connect(proxy.port);
  await eventually(() => server.connections.length === 1);
  process.kill(proxy.pid, "SIGTERM");
  await eventually(() => /draining/.test(proxy.output()));
  assert.equal(await proxy.stop("SIGINT"), 1);
  client.socket.destroy();
  await server.close();
});

test("cli: --help and --version", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /spliced tcp --listen HOST:PORT --to HOST:PORT/);
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout.trim(), /^spliced \d+\.\d+\.\d+ \((bun|deno) \d+\.\d+\.\d+\S*, (glibc \d+\.\d+|musl), (x86_64|aarch64)\)$/);
  assert.equal(version.stderr, "");
});

test("cli: usage errors exit 2 with a message and no stack trace", async () => {
  const cases: [string[], RegExp][] = [
    [["tcp", "--to", "127.0.0.1:1"], /tcp needs --listen/],
    [["tcp", "--listen", "127.0.0.1:0"], /tcp needs --to/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["tcp", "--bogus"], /unknown option "--bogus"/],
    [["tcp", "--listen", "127.0.0.1:99999", "--to", "127.0.0.1:1"], /--listen: port out of range/],
    [["tcp", "--listen", "nonsense", "--to", "127.0.0.1:1"], /--listen: expected HOST:PORT/],
    [["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1", "--workers", "0"], /--workers: .*>=1|--workers: .*1/],
    [["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1", "--idle-timeout", "soon"], /--idle-timeout: not a duration: "soon"/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit 2 (stderr: ${r.stderr})`);
    assert.match(r.stderr, pattern, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
});

test("cli: a busy port says address already in use, exit 1", async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runCli(["tcp", "--listen", `127.0.0.1:${port}`, "--to", "127.0.0.1:1"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `spliced: listen 127.0.0.1:${port}: address already in use`);
  } finally {
    blocker.close();
  }
});

test("config: check accepts a valid file", async () => {
  const path = configFile("good.json", {
    workers: 1, gracePeriod: "5s",
    listeners: [{ name: "db", listen: "127.0.0.1:0", upstreams: ["127.0.0.1:5432", "[::1]:5432"], idleTimeout: "1h" }],
  });
  const r = await runCli(["check", "--config", path]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${path}: ok`);
});

test("config: every error names the file, the field path and what is wrong", async () => {
  const cases: [string, unknown, RegExp][] = [
    ["missing.json", null, /missing\.json: \(root\): cannot read: file not found/],
    ["broken.json", "{ not json", /broken\.json: \(root\): invalid JSON/],
    ["nolisteners.json", {}, /nolisteners\.json: listeners: /],
    ["badport.json", { listeners: [{ listen: "127.0.0.1:70000", upstreams: ["127.0.0.1:1"] }] }, /badport\.json: listeners\[0\]\.listen: port out of range/],
    ["noup.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: [] }] }, /noup\.json: listeners\[0\]\.upstreams: needs at least one upstream/],
    ["badup.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1", "x"] }] }, /badup\.json: listeners\[0\]\.upstreams\[1\]: expected HOST:PORT/],
    ["unknown.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], colour: "red" }] }, /unknown\.json: listeners\[0\]: .*colour/],
    ["dup.json", { listeners: [{ name: "a", listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }, { name: "a", listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] }, /dup\.json: listeners\[1\]\.name: duplicate name "a"/],
    ["timeout.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], connectTimeout: "-5s" }] }, /timeout\.json: listeners\[0\]\.connectTimeout: not a duration/],
  ];
  for (const [name, content, pattern] of cases) {
    const path = content === null ? join(dir, name) : configFile(name, content);
    for (const cmd of [["check", "--config", path], ["--config", path]]) {
      const r = await runCli(cmd);
      assert.equal(r.code, 2, `${name}: exit 2 (${r.stderr})`);
      assert.match(r.stderr, pattern, name);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  }
});

test("config: a file with two listeners runs both, with per-listener stats", { timeout: 60_000 }, async () => {
  const a = await exchangeServer(1000);
  const b = await exchangeServer(2000);
  const path = configFile("two.json", {
    workers: 2, admin: { listen: "127.0.0.1:0" },
    listeners: [
      { name: "alpha", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`] },
      { name: "beta", listen: "127.0.0.1:0", upstreams: [`localhost:${b.port}`] },
    ],
  });
  const proxy = await startSpliced(["--config", path]);
  try {
    for (const [name, size] of [["alpha", 1000], ["beta", 2000]] as const) {
      const client = await connect(proxy.ports[name]);
      client.socket.end("abc");
      await client.closed;
      assert.equal(client.received.bytes, size, name);
    }
    let stats: any;
    await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0);
    assert.equal(stats.listeners.alpha.bytes_upstream_to_client, 1000);
    assert.equal(stats.listeners.beta.bytes_upstream_to_client, 2000);
    assert.equal(stats.upstreams[`beta/localhost:${b.port}`].bytes_client_to_upstream, 3);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});
