/**
 * The per-connection log of TCP and TLS passthrough listeners (`accessLog`,
 * `spliced tcp --access-log`): one JSON line per closed connection, checked
 * against the traffic that really went through (byte counts each way equal
 * to what each peer sent and the other received, payloads compared by
 * SHA-256), with the reason it closed: `eof`, `reset` (the upstream sent a
 * RST), `idle_timeout`, `drain` (cut at the grace deadline),
 * `connect_failed`, `connect_timeout`; TLS adds `sni` and `tls_no_route`.
 * SIGUSR1 reopens the file; without `accessLog` nothing is written.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import tls from "node:tls";
import { loadSys } from "../ffi/mod.ts";
import { localAddress, openListener } from "../src/dataplane/io/sockets.ts";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { connect, deadPort, echoServer, exchangeServer, Payload, sendPayload, startServer, type UpstreamConn } from "./helpers/peers.ts";
import { eventually, quietFdCount, runCli, sleep, startSpliced, type SplicedProcess, openedBy } from "./helpers/spliced.ts";

/** The JSON lines of a log file (none while it does not exist). */
function lines(path: string): any[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** The log line of the connection whose client port is `port` (waits for it). */
async function lineOf(path: string, port: number): Promise<any> {
  let found: any;
  await eventually(() => (found = lines(path).find((r) => r.client === `127.0.0.1:${port}`)) !== undefined);
  assert.ok(found, `a line for client port ${port}: ${readFileSync(path, "utf8")}`);
  return found;
}

/** Connects to the proxy, noting the client's own port (gone from the socket once it closed). */
async function dial(port: number): Promise<UpstreamConn & { port: number }> {
  const c = await connect(port);
  return Object.assign(c, { port: c.socket.localPort! });
}

/** Checks the fields every line has, and that the byte counts add up. */
function checkShape(r: any, listener: string): void {
  assert.equal(r.listener, listener);
  assert.ok(!Number.isNaN(Date.parse(r.time)), `time ${r.time}`);
  assert.equal(typeof r.duration_seconds, "number");
  assert.ok(r.duration_seconds >= 0);
  assert.equal(r.bytes_spliced + r.bytes_copied, r.bytes_client_to_upstream + r.bytes_upstream_to_client, "spliced + copied = both ways");
}

/** Starts `spliced tcp` to `ports` with its log in a new temp dir. */
async function tcpProxy(ports: number[], extra: string[] = []): Promise<{ proxy: SplicedProcess; log: string; remove: () => void }> {
  const tmp = tempDir("spliced-tcp-log-");
  const log = join(tmp.dir, "tcp.log");
  const to = ports.map((p) => `127.0.0.1:${p}`).join(",");
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", to, "--access-log", log, ...extra]);
  return { proxy, log, remove: tmp.remove };
}

test("tcp log: clean closes from 2 workers: one line each, bytes each way as sent and received, reason eof", { timeout: 90_000 }, async () => {
  const SIZES = [[300_000, 500_000], [1, 70_000], [2_000_000, 3], [64 * 1024, 64 * 1024], [7, 0]];
  let next = 0;
  // The i-th connection gets SIZES[i][1] bytes back, then EOF once the client's EOF came.
  const server = await startServer(async (conn) => {
    const payload = new Payload(SIZES[next++][1]);
    await sendPayload(conn.socket, payload, false);
    conn.sentDigest = payload.digest();
    await conn.ended;
    conn.socket.end();
  });
  const { proxy, log, remove } = await tcpProxy([server.port], ["--workers", "2"]);
  try {
    const fdsBefore = await quietFdCount(proxy);
    for (let i = 0; i < SIZES.length; i++) {
      const [up, down] = SIZES[i];
      const client = await dial(proxy.port);
      const payload = new Payload(up);
      await sendPayload(client.socket, payload);
      await client.closed;
      const conn: UpstreamConn = server.connections[i];
      await conn.closed;
      assert.equal(conn.received.digest(), payload.digest(), `connection ${i}: upstream got the client's bytes`);
      assert.equal(client.received.digest(), conn.sentDigest, `connection ${i}: client got the upstream's bytes`);
      const r = await lineOf(log, client.port);
      checkShape(r, "tcp");
      assert.equal(r.reason, "eof");
      assert.equal(r.upstream, `tcp/127.0.0.1:${server.port}`);
      assert.equal(r.bytes_client_to_upstream, up);
      assert.equal(r.bytes_upstream_to_client, down);
    }
    assert.equal(lines(log).length, SIZES.length, "one line per connection");
    assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore, "no fd left behind");
  } finally {
    await proxy.stop();
    await server.close();
    remove();
  }
});

test("tcp log: an upstream reset is logged as reset, with the bytes delivered before it", { timeout: 60_000 }, async () => {
  const server = await startServer(async (conn) => {
    await eventually(() => conn.received.bytes === 5);
    conn.socket.write(Buffer.alloc(100_000, 7));
    await sleep(100);
    conn.socket.resetAndDestroy(); // SO_LINGER 0: a RST
  });
  const { proxy, log, remove } = await tcpProxy([server.port]);
  try {
    const client = await dial(proxy.port);
    client.socket.write("hello");
    assert.ok(await client.closed, "the client saw an error close");
    assert.equal(client.received.bytes, 100_000);
    const r = await lineOf(log, client.port);
    checkShape(r, "tcp");
    assert.equal(r.reason, "reset");
    assert.equal(r.upstream, `tcp/127.0.0.1:${server.port}`);
    assert.equal(r.bytes_client_to_upstream, 5);
    assert.equal(r.bytes_upstream_to_client, 100_000);
  } finally {
    await proxy.stop();
    await server.close();
    remove();
  }
});

test("tcp log: a connection idle past --idle-timeout is logged as idle_timeout", { timeout: 60_000 }, async () => {
  const server = await echoServer();
  const { proxy, log, remove } = await tcpProxy([server.port], ["--idle-timeout", "300ms"]);
  try {
    const client = await dial(proxy.port);
    client.socket.write("ping");
    await client.ended; // the proxy closes it once idle
    client.socket.destroy();
    assert.equal(client.received.bytes, 4);
    const r = await lineOf(log, client.port);
    checkShape(r, "tcp");
    assert.equal(r.reason, "idle_timeout");
    assert.deepEqual([r.bytes_client_to_upstream, r.bytes_upstream_to_client], [4, 4]);
    assert.ok(r.duration_seconds >= 0.3, `lasted the idle timeout: ${r.duration_seconds}`);
  } finally {
    await proxy.stop();
    await server.close();
    remove();
  }
});

test("tcp log: a connection still open at the grace deadline is logged as drain, then the log is complete at exit", { timeout: 60_000 }, async () => {
  const server = await echoServer();
  const { proxy, log, remove } = await tcpProxy([server.port], ["--grace-period", "300ms"]);
  try {
    const client = await dial(proxy.port);
    client.socket.write("still here");
    await eventually(() => client.received.bytes === 10);
    assert.equal(await proxy.stop(), 0);
    await client.ended;
    client.socket.destroy();
    const r = await lineOf(log, client.port);
    checkShape(r, "tcp");
    assert.equal(r.reason, "drain");
    assert.deepEqual([r.bytes_client_to_upstream, r.bytes_upstream_to_client], [10, 10]);
  } finally {
    await proxy.stop();
    await server.close();
    remove();
  }
});

test("tcp log: a dead upstream is connect_failed with no upstream, on stdout with --access-log -", { timeout: 60_000 }, async () => {
  const dead = await deadPort();
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${dead}`, "--access-log", "-"]);
  try {
    const client = await dial(proxy.port);
    client.socket.write("anyone?");
    await client.ended;
    client.socket.destroy();
    const want = `"client":"127.0.0.1:${client.port}"`;
    assert.ok(await eventually(() => proxy.output().includes(want)), proxy.output());
    const r = JSON.parse(proxy.output().split("\n").find((l) => l.includes(want))!);
    checkShape(r, "tcp");
    assert.equal(r.reason, "connect_failed");
    assert.equal(r.upstream, null);
    assert.deepEqual([r.bytes_client_to_upstream, r.bytes_upstream_to_client], [0, 0]);
  } finally {
    await proxy.stop();
  }
});

test("tcp log: an upstream that never answers the SYN is connect_timeout", { timeout: 60_000 }, async () => {
  // A listener that never accepts, with its accept queue full, drops further SYNs.
  const sys = await loadSys();
  const silentFd = openListener(sys, { host: "127.0.0.1", port: 0 }, 0);
  const silentPort = localAddress(sys, silentFd).port;
  const filler = await connect(silentPort);
  const { proxy, log, remove } = await tcpProxy([silentPort], ["--connect-timeout", "300ms"]);
  try {
    const client = await dial(proxy.port);
    await client.ended;
    client.socket.destroy();
    const r = await lineOf(log, client.port);
    checkShape(r, "tcp");
    assert.equal(r.reason, "connect_timeout");
    assert.equal(r.upstream, null);
  } finally {
    await proxy.stop();
    filler.socket.destroy();
    sys.close(silentFd);
    remove();
  }
});

test("tcp log: without accessLog nothing is written", { timeout: 60_000 }, async () => {
  const server = await echoServer();
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${server.port}`]);
  try {
    const client = await dial(proxy.port);
    client.socket.end("x");
    await client.closed;
    await eventually(async () => (await proxy.stats()).totals.connections_active === 0);
    await sleep(300); // past a sweep, which would have flushed a line
    assert.ok(!proxy.output().includes('"reason"'), proxy.output());
  } finally {
    await proxy.stop();
    await server.close();
  }
});

test("tcp log: SIGUSR1 reopens the file after logrotate renamed it", { timeout: 60_000 }, async () => {
  const server = await echoServer();
  const { proxy, log, remove } = await tcpProxy([server.port], ["--workers", "2"]);
  const one = async () => {
    const client = await dial(proxy.port);
    client.socket.end("abc");
    await client.closed;
    return client.port;
  };
  try {
    const before = await one();
    await lineOf(log, before);
    renameSync(log, `${log}.1`);
    process.kill(proxy.pid, "SIGUSR1");
    assert.ok(await eventually(() => openedBy(proxy.pid, log) === 2 && openedBy(proxy.pid, `${log}.1`) === 0), "both workers reopened");
    const after = await one();
    const r = await lineOf(log, after);
    assert.equal(r.reason, "eof");
    assert.deepEqual(lines(`${log}.1`).map((l) => l.client), [`127.0.0.1:${before}`]);
    assert.equal(lines(log).length, 1);
  } finally {
    await proxy.stop();
    await server.close();
    remove();
  }
});

/** The first TLS record a real client sends for `servername`: its ClientHello (node:tls, captured by a plain server). */
async function clientHello(servername: string): Promise<Buffer> {
  let got = Buffer.alloc(0);
  let done!: () => void;
  const complete = new Promise<void>((r) => (done = r));
  const server = net.createServer((s) => {
    s.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) done();
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const c = tls.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, servername });
  c.on("error", () => {});
  await complete;
  c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return got.subarray(0, 5 + got.readUInt16BE(3));
}

test("tls passthrough log: sni and exact bytes for a routed connection; tls_no_route for an unknown name", { timeout: 60_000 }, async () => {
  const hello = await clientHello("a.example.com");
  const other = await clientHello("b.example.org");
  // A plain upstream: passthrough never decrypts, so any bytes after the hello travel as they are.
  const server = await exchangeServer(80_000);
  const tmp = tempDir("spliced-tls-log-");
  const log = join(tmp.dir, "tls.log");
  const config = writeConfig(tmp.dir, {
    workers: 1,
    admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "edge", mode: "tls", listen: "127.0.0.1:0", accessLog: log, routes: [{ sni: "a.example.com", upstreams: [`127.0.0.1:${server.port}`] }] }],
  });
  const proxy = await startSpliced(["--config", config]);
  try {
    const client = await dial(proxy.port);
    const payload = new Payload(200_000);
    client.socket.write(hello);
    await sendPayload(client.socket, payload);
    await client.closed;
    assert.equal(client.received.digest(), server.connections[0].sentDigest);
    const r = await lineOf(log, client.port);
    checkShape(r, "edge");
    assert.equal(r.reason, "eof");
    assert.equal(r.sni, "a.example.com");
    assert.equal(r.upstream, `edge/route0/127.0.0.1:${server.port}`);
    assert.equal(r.bytes_client_to_upstream, hello.length + 200_000);
    assert.equal(r.bytes_upstream_to_client, 80_000);

    const refused = await dial(proxy.port);
    refused.socket.write(other);
    await refused.ended;
    refused.socket.destroy();
    const n = await lineOf(log, refused.port);
    assert.equal(n.reason, "tls_no_route");
    assert.equal(n.sni, "b.example.org");
    assert.equal(n.upstream, null);
  } finally {
    await proxy.stop();
    await server.close();
    tmp.remove();
  }
});

test("tcp log: a refused PROXY header and an untrusted peer each get a line, with no upstream and no bytes", { timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const tmp = tempDir("spliced-tcp-log-");
  const log = join(tmp.dir, "tcp.log");
  const listener = (name: string, trustedProxies: string[]) => ({
    name, listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${echo.port}`], accessLog: log, acceptProxyProtocol: "v1", trustedProxies,
  });
  const config = writeConfig(tmp.dir, { workers: 1, admin: { listen: "127.0.0.1:0" }, listeners: [listener("trusted", ["127.0.0.1"]), listener("strict", ["10.0.0.0/8"])] });
  const proxy = await startSpliced(["--config", config]);
  try {
    const garbage = await dial(proxy.ports.trusted);
    garbage.socket.write("HELLO upstream\r\n"); // not a PROXY v1 line
    await garbage.closed;
    const untrusted = await dial(proxy.ports.strict);
    untrusted.socket.write("PROXY TCP4 192.0.2.8 127.0.0.1 40001 80\r\n"); // a good header from outside trustedProxies
    await untrusted.closed;
    const proxied = await dial(proxy.ports.trusted);
    proxied.socket.end("PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\nhello");
    await proxied.closed;
    assert.equal(proxied.received.text(), "hello");
    const refused = await lineOf(log, garbage.port);
    checkShape(refused, "trusted");
    assert.deepEqual([refused.reason, refused.upstream, refused.bytes_client_to_upstream], ["proxy_protocol_refused", null, 0]);
    const outside = await lineOf(log, untrusted.port);
    checkShape(outside, "strict");
    assert.deepEqual([outside.reason, outside.upstream], ["proxy_protocol_untrusted", null]);
    let ok: any;
    assert.ok(await eventually(() => (ok = lines(log).find((r) => r.client === "192.0.2.7:40000")) !== undefined), "the accepted header's source is the client");
    assert.deepEqual([ok.reason, ok.bytes_client_to_upstream, ok.bytes_upstream_to_client], ["eof", 5, 5]);
    assert.equal(lines(log).length, 3);
  } finally {
    await proxy.stop();
    await echo.close();
    tmp.remove();
  }
});

test("tcp log: spliced check and spliced tcp name an accessLog whose directory does not exist", { timeout: 30_000 }, async () => {
  const tmp = tempDir("spliced-tcp-log-");
  try {
    const config = writeConfig(tmp.dir, { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], accessLog: join(tmp.dir, "none", "x.log") }] });
    const r = await runCli(["check", "--config", config]);
    assert.notEqual(r.code, 0);
    const problem = r.stderr.split("\n").find((l) => l.includes("listeners[0].accessLog"));
    assert.ok(problem, r.stderr);
    assert.ok(problem.includes(config) && problem.includes("does not exist"), problem);
    const flag = await runCli(["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1", "--access-log", join(tmp.dir, "none", "x.log")]);
    assert.equal(flag.code, 2);
    assert.equal(flag.stderr.trim(), `command line: --access-log: directory "${join(tmp.dir, "none")}" does not exist`);
  } finally {
    tmp.remove();
  }
});
