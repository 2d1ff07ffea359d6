/**
 * End-to-end: TLS passthrough routed by SNI through a real spliced process,
 * with real TLS servers (node:tls) as upstreams, each with its own
 * certificate. The client verifies the certificate against the one upstream
 * it expects, so a handshake that succeeds proves whose it saw; bytes are
 * compared by SHA-256 both ways. Split ClientHellos go through a relay that
 * re-cuts the client's real hello; garbage, timeouts and unrouted names are
 * closed and counted; the fd count comes back to where it was.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { parseMetrics, sample } from "./helpers/metrics.ts";
import { eventually, quietFdCount, ROOT, runCli, sleep, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";

const FIXTURES = `${ROOT}test/fixtures/tls/`;
const pair = (file: string) => ({ key: readFileSync(`${FIXTURES}${file}.key`), cert: readFileSync(`${FIXTURES}${file}.crt`) });
const CERTS = { a: pair("a.example.com"), net: pair("wildcard.example.net"), fallback: pair("default.test") };
type Name = keyof typeof CERTS;
const fingerprint = (name: Name) => new X509Certificate(CERTS[name].cert).fingerprint256;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A TLS upstream: reads a 4-byte length and that many bytes, answers `NAME SHA-IN LENGTH SHA-OUT\n` and LENGTH bytes. */
interface Upstream {
  readonly port: number;
  connections: number;
  close(): Promise<void>;
}

function tlsUpstream(name: Name): Promise<Upstream> {
  const up: Upstream = { port: 0, connections: 0, close: () => new Promise((r) => server.close(() => r())) };
  const server = tls.createServer({ ...CERTS[name], ALPNProtocols: ["h2", "http/1.1"] }, (s) => {
    up.connections++;
    let got = Buffer.alloc(0);
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 4 || got.length < 4 + got.readUInt32BE(0)) return;
      const body = got.subarray(4, 4 + got.readUInt32BE(0));
      const out = randomBytes(150_000 + body.length % 1000);
      s.write(`${name} ${sha(body)} ${out.length} ${sha(out)}\n`);
      s.write(out);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(Object.assign(up, { port: (server.address() as net.AddressInfo).port }))));
}

/** What one TLS conversation through the proxy showed. */
interface Talk {
  readonly upstream: string;
  readonly fingerprint: string;
  readonly alpn: string | false;
}

/**
 * Connects to `port`, verifies the server's certificate against `expect`'s only (and,
 * when `verifyName`, that it names `servername`), sends a payload, checks both hashes,
 * returns who answered and the certificate's fingerprint.
 */
async function talk(port: number, servername: string | undefined, expect: Name, verifyName = expect !== "fallback"): Promise<Talk> {
  const payload = randomBytes(200_000 + Math.floor(Math.random() * 1000));
  const c = tls.connect({
    host: "127.0.0.1", port, servername, ca: CERTS[expect].cert, ALPNProtocols: ["h2", "http/1.1"],
    // The default upstream's certificate names default.test, whatever name the client asked for;
    // and an X.509 wildcard covers one label only, where the route takes more.
    checkServerIdentity: verifyName ? tls.checkServerIdentity : () => undefined,
  });
  let got = Buffer.alloc(0);
  const done = new Promise<Talk>((resolve, reject) => {
    c.on("error", reject);
    c.on("secureConnect", () => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(payload.length);
      c.write(Buffer.concat([len, payload]));
    });
    c.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const nl = got.indexOf(10);
      if (nl < 0) return;
      const [name, shaIn, length, shaOut] = got.subarray(0, nl).toString().split(" ");
      const body = got.subarray(nl + 1);
      if (body.length < Number(length)) return;
      try {
        assert.equal(body.length, Number(length), "no byte more than announced");
        assert.equal(shaIn, sha(payload), "SHA-256 client → upstream");
        assert.equal(sha(body), shaOut, "SHA-256 upstream → client");
        resolve({ upstream: name, fingerprint: c.getPeerCertificate().fingerprint256, alpn: c.alpnProtocol ?? false });
      } catch (err) {
        reject(err);
      }
    });
  });
  try {
    return await done;
  } finally {
    c.destroy();
  }
}

/** Resolves when the socket is closed by the other side (end or error). */
function closedByPeer(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    s.on("error", () => resolve());
    s.on("close", () => resolve());
    s.on("end", () => resolve());
  });
}

/**
 * A TCP relay in front of `port` that re-cuts the client's first TLS record
 * (its ClientHello): `cut(record)` gives the pieces to write, 1 ms apart, each
 * its own write with Nagle off. Everything after goes through unchanged.
 */
function relay(port: number, cut: (record: Buffer) => Buffer[]): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((client) => {
    const up = net.connect(port, "127.0.0.1");
    up.setNoDelay(true);
    client.on("error", () => up.destroy());
    up.on("error", () => client.destroy());
    let head = Buffer.alloc(0);
    const onHead = async (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.length < 5 || head.length < 5 + head.readUInt16BE(3)) return;
      client.off("data", onHead);
      client.pause();
      const end = 5 + head.readUInt16BE(3);
      for (const piece of cut(head.subarray(0, end))) {
        up.write(piece);
        await sleep(1);
      }
      if (head.length > end) up.write(head.subarray(end));
      client.pipe(up);
      up.pipe(client);
      client.resume();
    };
    client.on("data", onHead);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  })));
}

let proxy: SplicedProcess;
let dir: string;
const ups = {} as Record<Name, Upstream>;
let fdsBefore = 0;

before(async () => {
  for (const name of Object.keys(CERTS) as Name[]) ups[name] = await tlsUpstream(name);
  dir = mkdtempSync(join(tmpdir(), "spliced-tls-"));
  const config = {
    workers: 2,
    admin: { listen: "127.0.0.1:0" },
    listeners: [
      {
        name: "tls", mode: "tls", listen: "127.0.0.1:0", clientHelloTimeout: "60s",
        routes: [
          { name: "net", sni: "*.example.net", upstreams: [`127.0.0.1:${ups.net.port}`] },
          { name: "fallback", upstreams: [`127.0.0.1:${ups.fallback.port}`] },
          { name: "a", sni: "A.example.com", upstreams: [`127.0.0.1:${ups.a.port}`] },
        ],
      },
      { name: "strict", mode: "tls", listen: "127.0.0.1:0", clientHelloTimeout: "300ms", routes: [{ sni: "a.example.com", upstreams: [`127.0.0.1:${ups.a.port}`] }] },
    ],
  };
  writeFileSync(join(dir, "tls.json"), JSON.stringify(config));
  proxy = await startSpliced(["--config", join(dir, "tls.json")]);
  await settled();
  fdsBefore = await quietFdCount(proxy);
});

after(async () => {
  await proxy?.stop();
  for (const u of Object.values(ups)) await u.close();
  rmSync(dir, { recursive: true, force: true });
});

async function settled(): Promise<any> {
  let stats: any;
  assert.ok(await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0, 15_000), "connections closed");
  return stats;
}

const port = () => proxy.ports.tls;

test("tls sni: an exact name reaches its upstream, whose certificate the client verifies; ALPN passes through", { timeout: 60_000 }, async () => {
  const t = await talk(port(), "a.example.com", "a");
  assert.deepEqual(t, { upstream: "a", fingerprint: fingerprint("a"), alpn: "h2" });
  const stats = await settled();
  assert.equal(stats.routes["tls/a"].connections_total, 1);
  assert.equal(stats.upstreams[`tls/a/127.0.0.1:${ups.a.port}`].connections_total, 1);
});

test("tls sni: a wildcard takes one label or more; the bare domain goes to the default", { timeout: 60_000 }, async () => {
  assert.equal((await talk(port(), "x.example.net", "net")).fingerprint, fingerprint("net"));
  assert.equal((await talk(port(), "y.z.example.net", "net", false)).fingerprint, fingerprint("net"));
  assert.equal((await talk(port(), "example.net", "fallback")).fingerprint, fingerprint("fallback"));
});

test("tls sni: no SNI and an unknown name go to the default route", { timeout: 60_000 }, async () => {
  assert.equal((await talk(port(), undefined, "fallback")).fingerprint, fingerprint("fallback"));
  assert.equal((await talk(port(), "other.org", "fallback")).upstream, "fallback");
});

test("tls sni: a ClientHello sent one byte per write is routed", { timeout: 60_000 }, async () => {
  const r = await relay(port(), (rec) => [...rec].map((b) => Buffer.from([b])));
  try {
    const t = await talk(r.port, "a.example.com", "a");
    assert.equal(t.fingerprint, fingerprint("a"));
  } finally {
    await r.close();
  }
});

test("tls sni: a ClientHello split across two TLS records is routed", { timeout: 60_000 }, async () => {
  const twoRecords = (rec: Buffer) => {
    const body = rec.subarray(5), k = 7; // the second record starts inside the handshake header's body
    const header = (n: number) => Buffer.from([22, rec[1], rec[2], n >> 8, n & 0xff]);
    return [Buffer.concat([header(k), body.subarray(0, k)]), Buffer.concat([header(body.length - k), body.subarray(k)])];
  };
  const r = await relay(port(), twoRecords);
  try {
    assert.equal((await talk(r.port, "x.example.net", "net")).fingerprint, fingerprint("net"));
  } finally {
    await r.close();
  }
});

test("tls sni: /stats/connections shows the SNI and ALPN of an open connection", { timeout: 60_000 }, async () => {
  const c = tls.connect({ host: "127.0.0.1", port: port(), servername: "a.example.com", ca: CERTS.a.cert, ALPNProtocols: ["h2", "http/1.1"] });
  try {
    await new Promise<void>((resolve, reject) => c.on("secureConnect", resolve).on("error", reject));
    const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/stats/connections`, { headers: { connection: "close" } });
    const list = (await res.json()).connections.filter((x: any) => x.listener === "tls");
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0].sni, "a.example.com");
    assert.deepEqual(list[0].alpn, ["h2", "http/1.1"]);
    assert.equal(list[0].upstream, `tls/a/127.0.0.1:${ups.a.port}`);
    assert.equal(list[0].state, "open");
  } finally {
    c.destroy();
  }
});

/** Counters of a listener, and the upstreams' connection counts, before and after `act`. */
async function counted(act: () => Promise<void>, listener = "tls"): Promise<{ delta: Record<string, number>; reached: number }> {
  const before = (await settled()).listeners[listener];
  const reachedBefore = Object.values(ups).reduce((n, u) => n + u.connections, 0);
  await act();
  const now = (await settled()).listeners[listener];
  const delta: Record<string, number> = {};
  for (const k of ["tls_bad_hello", "tls_hello_timeouts", "tls_no_route", "errors"]) delta[k] = now[k] - before[k];
  return { delta, reached: Object.values(ups).reduce((n, u) => n + u.connections, 0) - reachedBefore };
}

async function sendRaw(p: number, bytes: Uint8Array): Promise<void> {
  const s = net.connect(p, "127.0.0.1");
  const closed = closedByPeer(s);
  s.write(bytes);
  await closed;
  s.destroy();
}

test("tls sni: bytes that are not TLS are closed and counted, never forwarded", { timeout: 60_000 }, async () => {
  const { delta, reached } = await counted(() => sendRaw(port(), Buffer.from("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")));
  assert.deepEqual(delta, { tls_bad_hello: 1, tls_hello_timeouts: 0, tls_no_route: 0, errors: 0 });
  assert.equal(reached, 0, "no upstream saw the connection");
});

test("tls sni: a malformed and an oversized ClientHello are closed and counted", { timeout: 60_000 }, async () => {
  const malformed = Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0]); // a ServerHello where a ClientHello belongs
  const oversized = Buffer.from([22, 3, 1, 0x40, 0, 1, 0, 0x50, 0]); // a 20 KiB ClientHello
  const { delta, reached } = await counted(async () => {
    await sendRaw(port(), malformed);
    await sendRaw(port(), oversized);
  });
  assert.deepEqual(delta, { tls_bad_hello: 2, tls_hello_timeouts: 0, tls_no_route: 0, errors: 0 });
  assert.equal(reached, 0);
});

test("tls sni: a ClientHello not complete within clientHelloTimeout is closed and counted", { timeout: 60_000 }, async () => {
  const { delta, reached } = await counted(() => sendRaw(proxy.ports.strict, Buffer.from([22, 3, 1, 1, 0, 1])), "strict");
  assert.deepEqual(delta, { tls_bad_hello: 0, tls_hello_timeouts: 1, tls_no_route: 0, errors: 0 });
  assert.equal(reached, 0);
});

test("tls sni: a name no route takes, without a default route, is closed and counted", { timeout: 60_000 }, async () => {
  const before = (await settled()).listeners.strict;
  const c = tls.connect({ host: "127.0.0.1", port: proxy.ports.strict, servername: "b.example.com", rejectUnauthorized: false });
  await closedByPeer(c);
  c.destroy();
  const after = (await settled()).listeners.strict;
  assert.equal(after.tls_no_route - before.tls_no_route, 1);
  assert.equal(after.errors - before.errors, 0);
});

test("tls sni: the counters are in /metrics for TLS listeners; the fd count is back to where it was", { timeout: 60_000 }, async () => {
  const stats = await settled();
  const text = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`, { headers: { connection: "close" } })).text();
  const m = parseMetrics(text);
  for (const f of ["tls_bad_hello", "tls_hello_timeouts", "tls_no_route"]) {
    assert.equal(sample(m, `spliced_listener_${f}_total`, { listener: "tls" }), stats.listeners.tls[f], f);
  }
  assert.ok(stats.listeners.tls.tls_bad_hello >= 1, "the garbage test ran first");
  assert.equal(sample(m, "spliced_listener_requests_total", { listener: "tls" }), undefined, "no HTTP series for a TLS listener");
  assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore, "fd count back to where it was");
});

test("tls sni: examples/tls.json passes spliced check; TLS config mistakes name their field", { timeout: 60_000 }, async () => {
  const ok = await runCli(["check", "--config", `${ROOT}examples/tls.json`]);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = {
    listeners: [{
      mode: "tls", listen: "127.0.0.1:0",
      routes: [{ sni: "a.example.com", upstreams: ["127.0.0.1:1"] }, { sni: "A.example.com", upstreams: ["127.0.0.1:2"] }, { sni: "bad name", upstreams: ["127.0.0.1:3"] }, { snii: "x", upstreams: ["127.0.0.1:4"] }],
      clientHelloTimeout: "soon",
    }],
  };
  const file = join(dir, "bad.json");
  writeFileSync(file, JSON.stringify(bad));
  const r = await runCli(["check", "--config", file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /listeners\[0\]\.routes\[2\]\.sni: use a server name/);
  assert.match(r.stderr, /listeners\[0\]\.routes\[3\]: unknown key "snii"; did you mean "sni"\?/);
  assert.match(r.stderr, /listeners\[0\]\.clientHelloTimeout: /);
  // The duplicate is reported once the routes are otherwise valid (zod refines a valid object only).
  bad.listeners[0].routes.splice(2, 2);
  bad.listeners[0].clientHelloTimeout = "1s";
  writeFileSync(file, JSON.stringify(bad));
  const dup = await runCli(["check", "--config", file]);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /listeners\[0\]\.routes\[1\]\.sni: "sni" "A\.example\.com" repeats: routes\[0\] already takes it/);
});

test("tls: a route's healthCheck marks a dead upstream down; connections go to the live one", { timeout: 60_000 }, async () => {
  const live = await tlsUpstream("a");
  const dead = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const tmp = mkdtempSync(join(tmpdir(), "spliced-tls-health-"));
  const file = join(tmp, "tls.json");
  writeFileSync(file, JSON.stringify({
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{
      name: "tls", mode: "tls", listen: "127.0.0.1:0",
      routes: [{ name: "a", sni: "a.example.com", upstreams: [`127.0.0.1:${dead}`, `127.0.0.1:${live.port}`],
        healthCheck: { interval: "200ms", timeout: "200ms", rise: 1, fall: 1 } }],
    }],
  }));
  const p = await startSpliced(["--config", file]);
  try {
    const health = async () => {
      const ups = (await p.stats()).upstreams as Record<string, { health: string }>;
      return Object.fromEntries(Object.entries(ups).map(([id, u]) => [id.slice(id.lastIndexOf(":") + 1), u.health]));
    };
    assert.ok(await eventually(async () => (await health())[String(dead)] === "down"), JSON.stringify(await health()));
    for (let i = 0; i < 6; i++) assert.equal((await talk(p.port, "a.example.com", "a")).upstream, "a");
    assert.equal(live.connections, 6, "every connection reached the live upstream");
  } finally {
    await p.stop();
    await live.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("tls: a PROXY header before the ClientHello names the client; sendProxyProtocol passes it on", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const raw = net.createServer((s) => {
    let got = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const nl = got.indexOf("\r\n");
      if (nl >= 0 && lines.length === 0) {
        lines.push(got.subarray(0, nl).toString());
        s.destroy();
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()));
  const rawPort = (raw.address() as net.AddressInfo).port;
  const tmp = mkdtempSync(join(tmpdir(), "spliced-tls-proxy-"));
  const file = join(tmp, "tls.json");
  writeFileSync(file, JSON.stringify({
    workers: 1, admin: { listen: "127.0.0.1:0" },
    listeners: [{
      name: "tls", mode: "tls", listen: "127.0.0.1:0", acceptProxyProtocol: "v1", trustedProxies: ["127.0.0.1/32"],
      sendProxyProtocol: "v1", routes: [{ upstreams: [`127.0.0.1:${rawPort}`] }],
    }],
  }));
  const p = await startSpliced(["--config", file]);
  try {
    const socket = net.connect(p.port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write("PROXY TCP4 203.0.113.7 127.0.0.1 5555 443\r\n");
    const c = tls.connect({ socket, servername: "a.example.com", rejectUnauthorized: false });
    c.on("error", () => {});
    assert.ok(await eventually(() => lines.length === 1), "the upstream got a header line");
    assert.match(lines[0], /^PROXY TCP4 203\.0\.113\.7 127\.0\.0\.1 5555 443$/);
    c.destroy();
    // An untrusted source (anything but 127.0.0.1) is refused: connect from 127.0.0.2.
    const untrusted = net.connect({ port: p.port, host: "127.0.0.1", localAddress: "127.0.0.2" });
    untrusted.on("error", () => {});
    await closedByPeer(untrusted);
    assert.ok(await eventually(async () => (await p.stats()).totals.proxy_protocol_untrusted === 1));
  } finally {
    await p.stop();
    await new Promise<void>((r) => raw.close(() => r()));
    rmSync(tmp, { recursive: true, force: true });
  }
});
