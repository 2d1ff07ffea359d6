/**
 * Balancing end to end (library `startProxy`, real sockets on 127.0.0.1):
 * leastconn against held connections (TCP) and held requests (HTTP), random2's
 * spread, hash stickiness by clientIp / header / cookie / path with its
 * round-robin fallback and next preference, backups, config weights, and the
 * S_ACTIVE bookkeeping (`in_use`) against `connections_active`.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { startProxy, type Proxy } from "../src/mod.ts";
import { deadPort } from "./helpers/peers.ts";
import { eventually } from "./helpers/spliced.ts";

/** A TCP upstream that greets each connection with its name and keeps it open. */
interface Named {
  name: string;
  port: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

function namedTcp(name: string): Promise<Named> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.write(name + "\n");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    name, port: (server.address() as net.AddressInfo).port, sockets,
    close: () => new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      server.close(() => done());
    }),
  })));
}

/** Connects through the proxy and resolves with the socket and the name of the upstream that greeted it. */
function tcpVia(port: number, localAddress?: string): Promise<{ socket: net.Socket; name: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    let got = "";
    socket.on("error", reject);
    socket.on("data", (d) => {
      got += d.toString();
      if (got.includes("\n")) resolve({ socket, name: got.trim() });
    });
  });
}

async function tcpName(port: number, localAddress?: string): Promise<string> {
  const { socket, name } = await tcpVia(port, localAddress);
  socket.destroy();
  return name;
}

/** An HTTP upstream answering its name; `/hold` requests wait until `release()`. */
interface NamedHttp {
  name: string;
  port: number;
  held: http.ServerResponse[];
  release(): void;
  close(): Promise<void>;
}

function namedHttp(name: string): Promise<NamedHttp> {
  const held: http.ServerResponse[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === "/hold") held.push(res);
    else res.end(name);
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    name, port: (server.address() as net.AddressInfo).port, held,
    release: () => {
      for (const r of held.splice(0)) r.end(name);
    },
    close: () => new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      server.close(() => done());
    }),
  })));
}

/** One GET through the proxy on a new connection: the body (the upstream's name). */
function httpGet(port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, headers, agent: false, localAddress }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}: ${body}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function sequential<T>(n: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
}

/** `in_use` (S_ACTIVE) of each upstream, by address port. */
function inUse(proxy: Proxy, ports: number[]): number[] {
  const ups = proxy.stats().upstreams;
  return ports.map((p) => Object.values(ups).find((u) => u.address.endsWith(`:${p}`))!.in_use);
}

test("leastconn (TCP): new connections go to the upstream with fewer open ones; in_use matches connections_active and returns to 0", async () => {
  const a = await namedTcp("a"), b = await namedTcp("b");
  const proxy = await startProxy({
    workers: 2,
    listeners: [{ name: "lc", listen: "127.0.0.1:0", balance: "leastconn", upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] }],
  });
  try {
    const port = proxy.address().port;
    const held = await sequential(6, () => tcpVia(port));
    assert.deepEqual(tally(held.map((h) => h.name)), { a: 3, b: 3 });
    for (const h of held.filter((h) => h.name === "a")) h.socket.destroy();
    assert.ok(await eventually(() => inUse(proxy, [a.port, b.port]).join() === "0,3"), String(inUse(proxy, [a.port, b.port])));
    // a has 0, b has 3: the next three all go to a (round robin would send one or two to b).
    const next = await sequential(3, () => tcpVia(port));
    assert.deepEqual(next.map((h) => h.name), ["a", "a", "a"]);
    assert.deepEqual(inUse(proxy, [a.port, b.port]), [3, 3]);
    const ups = proxy.stats().upstreams;
    assert.deepEqual(Object.values(ups).map((u) => u.connections_active), [3, 3]);
    for (const h of [...held, ...next]) h.socket.destroy();
    assert.ok(await eventually(() => inUse(proxy, [a.port, b.port]).join() === "0,0"));
    assert.ok(await eventually(() => Object.values(proxy.stats().upstreams).every((u) => u.connections_active === 0)));
  } finally {
    await proxy.close(0);
    await a.close();
    await b.close();
  }
});

test("leastconn (HTTP): requests in flight count; a finished request (its connection back in the pool) no longer does", async () => {
  const a = await namedHttp("a"), b = await namedHttp("b");
  const proxy = await startProxy({
    workers: 2,
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0",
      routes: [{ name: "all", balance: "leastconn", upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] }],
    }],
  });
  try {
    const port = proxy.address().port;
    const holds = [0, 1, 2, 3].map(() => httpGet(port, "/hold"));
    assert.ok(await eventually(() => a.held.length + b.held.length === 4));
    assert.deepEqual([a.held.length, b.held.length], [2, 2]);
    a.release();
    assert.ok(await eventually(() => inUse(proxy, [a.port, b.port]).join() === "0,2"), String(inUse(proxy, [a.port, b.port])));
    // Each quick request ends before the next: a stays at 0 < 2, so every one goes to a.
    assert.deepEqual(await sequential(6, () => httpGet(port, "/")), ["a", "a", "a", "a", "a", "a"]);
    b.release();
    assert.deepEqual((await Promise.all(holds)).sort(), ["a", "a", "b", "b"]);
    assert.ok(await eventually(() => inUse(proxy, [a.port, b.port]).join() === "0,0"));
  } finally {
    await proxy.close(0);
    await a.close();
    await b.close();
  }
});

test("random2 (HTTP): idle upstreams get a roughly even share", async () => {
  const ups = await Promise.all(["a", "b", "c"].map(namedHttp));
  const proxy = await startProxy({
    workers: 2,
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", routes: [{ balance: "random2", upstreams: ups.map((u) => `127.0.0.1:${u.port}`) }] }],
  });
  try {
    const counts = tally(await sequential(300, () => httpGet(proxy.address().port, "/")));
    for (const u of ups) assert.ok((counts[u.name] ?? 0) >= 50 && counts[u.name] <= 150, JSON.stringify(counts));
  } finally {
    await proxy.close(0);
    for (const u of ups) await u.close();
  }
});

test("hash (HTTP): header, cookie and path keys stick and spread; a request without the key goes round robin; a disabled upstream's keys move, then come back", async () => {
  const ups = await Promise.all(["a", "b", "c"].map(namedHttp));
  const list = ups.map((u) => `127.0.0.1:${u.port}`);
  const proxy = await startProxy({
    workers: 2,
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0",
      routes: [
        { name: "h", path: "/h", balance: "hash", hashKey: "header:X-User", upstreams: list },
        { name: "c", path: "/c", balance: "hash", hashKey: "cookie:sid", upstreams: list },
        { name: "p", path: "/p", balance: "hash", hashKey: "path", upstreams: list },
      ],
    }],
  });
  try {
    const port = proxy.address().port;
    const forms: [string, (k: number) => [string, Record<string, string>]][] = [
      ["header", (k) => ["/h", { "x-user": `user${k}` }]],
      ["cookie", (k) => ["/c", { cookie: `theme=dark; sid=s${k}; x=1` }]],
      ["path", (k) => [`/p/item${k}?v=${Math.random()}`, {}]],
    ];
    for (const [what, form] of forms) {
      const owners: string[] = [];
      for (let k = 0; k < 24; k++) {
        const [path, headers] = form(k);
        const seen = await sequential(3, () => httpGet(port, path, headers));
        assert.equal(new Set(seen).size, 1, `${what} key ${k} went to ${seen}`);
        owners.push(seen[0]);
      }
      assert.ok(new Set(owners).size >= 2, `${what}: every key on ${owners[0]}`);
    }
    // No X-User: round robin (hashing one "missing" key would put all nine on one upstream).
    const keyless = tally(await sequential(9, () => httpGet(port, "/h")));
    assert.equal(Object.keys(keyless).length, 3, JSON.stringify(keyless));
    // The upstream user1 maps to is disabled: user1 moves, to the same one each time; enabled again, it comes back.
    const owner = await httpGet(port, "/h", { "x-user": "user1" });
    const id = `web/h/127.0.0.1:${ups.find((u) => u.name === owner)!.port}`;
    assert.ok(proxy.setUpstreamState(id, "disabled"));
    const moved = await sequential(4, () => httpGet(port, "/h", { "x-user": "user1" }));
    assert.equal(new Set(moved).size, 1);
    assert.notEqual(moved[0], owner);
    assert.ok(proxy.setUpstreamState(id, "up"));
    assert.equal(await httpGet(port, "/h", { "x-user": "user1" }), owner);
  } finally {
    await proxy.close(0);
    for (const u of ups) await u.close();
  }
});

test("hash on clientIp (TCP and HTTP): the same client address sticks, different ones spread", async () => {
  const tcp = await Promise.all(["a", "b", "c"].map(namedTcp));
  const web = await Promise.all(["a", "b", "c"].map(namedHttp));
  const proxy = await startProxy({
    workers: 2,
    listeners: [
      { name: "t", listen: "127.0.0.1:0", balance: "hash", hashKey: "clientIp", upstreams: tcp.map((u) => `127.0.0.1:${u.port}`) },
      { name: "w", mode: "http", listen: "127.0.0.1:0", routes: [{ balance: "hash", hashKey: "clientIp", upstreams: web.map((u) => `127.0.0.1:${u.port}`) }] },
    ],
  });
  try {
    const tport = proxy.address("t").port, wport = proxy.address("w").port;
    const tOwners: string[] = [], wOwners: string[] = [];
    for (let k = 2; k < 22; k++) {
      const from = `127.0.0.${k}`;
      const t = await sequential(3, () => tcpName(tport, from));
      const w = await sequential(3, () => httpGet(wport, "/", {}, from));
      assert.equal(new Set(t).size, 1, `tcp from ${from}: ${t}`);
      assert.equal(new Set(w).size, 1, `http from ${from}: ${w}`);
      tOwners.push(t[0]);
      wOwners.push(w[0]);
    }
    assert.ok(new Set(tOwners).size >= 2 && new Set(wOwners).size >= 2, `${tOwners} / ${wOwners}`);
  } finally {
    await proxy.close(0);
    for (const u of [...tcp, ...web]) await u.close();
  }
});

test("backup and weights: config weight 3:1 shows in the spread; the backup serves only once no primary is usable (one disabled, one dead)", async () => {
  const a = await namedTcp("a"), b = await namedTcp("b"), spare = await namedTcp("spare");
  const proxy = await startProxy({
    workers: 2,
    admin: { listen: "127.0.0.1:0" },
    listeners: [{
      name: "db", listen: "127.0.0.1:0",
      upstreams: [
        { address: `127.0.0.1:${a.port}`, weight: 3 },
        `127.0.0.1:${b.port}`,
        { address: `127.0.0.1:${spare.port}`, backup: true },
      ],
    }],
  });
  try {
    const port = proxy.address().port;
    const counts = tally(await sequential(40, () => tcpName(port)));
    assert.equal(counts.spare, undefined);
    assert.ok(counts.a >= 26 && counts.a <= 34, JSON.stringify(counts)); // 30 of 40 expected; equal weights would give 20
    const res = await fetch(`http://127.0.0.1:${proxy.adminAddress()!.port}/upstreams`);
    const shown = (await res.json()).upstreams.map((u: { weight: number; backup: boolean }) => [u.weight, u.backup]);
    assert.deepEqual(shown, [[3, false], [1, false], [1, true]]);
    assert.ok(proxy.setUpstreamState(`db/127.0.0.1:${a.port}`, "disabled"));
    assert.deepEqual(tally(await sequential(6, () => tcpName(port))), { b: 6 });
    await b.close(); // refused now: tried, then the backup takes the connection
    assert.deepEqual(tally(await sequential(6, () => tcpName(port))), { spare: 6 });
    assert.ok(proxy.setUpstreamState(`db/127.0.0.1:${a.port}`, "up"));
    assert.deepEqual(tally(await sequential(4, () => tcpName(port))), { a: 4 });
  } finally {
    await proxy.close(0);
    await a.close();
    await spare.close();
  }
});

test("backup (HTTP route): with its primary dead the backup serves; with the backup disabled too, an error (502 refused, or 503 once passive health marked the dead one down)", async () => {
  const spare = await namedHttp("spare");
  const dead = await deadPort();
  const proxy = await startProxy({
    workers: 1,
    listeners: [{
      name: "web", mode: "http", listen: "127.0.0.1:0",
      routes: [{ name: "r", upstreams: [`127.0.0.1:${dead}`, { address: `127.0.0.1:${spare.port}`, backup: true }] }],
    }],
  });
  try {
    const port = proxy.address().port;
    assert.deepEqual(await sequential(3, () => httpGet(port, "/")), ["spare", "spare", "spare"]);
    assert.ok(proxy.setUpstreamState(`web/r/127.0.0.1:${spare.port}`, "disabled"));
    await assert.rejects(httpGet(port, "/"), /status 50[23]/);
  } finally {
    await proxy.close(0);
    await spare.close();
  }
});

test("config: balance, hashKey and upstream objects are validated with field paths", async () => {
  const { validateConfig } = await import("../src/config.ts");
  const tcp = (extra: Record<string, unknown>) => ({ listeners: [{ listen: "127.0.0.1:1", upstreams: ["127.0.0.1:2"], ...extra }] });
  const cases: [unknown, string][] = [
    [tcp({ balance: "fastest" }), `cfg: listeners[0].balance: expected "roundrobin" or "leastconn" or "random2" or "hash", got "fastest"`],
    [tcp({ balance: "hash", hashKey: "path" }), `cfg: listeners[0].hashKey: a tcp listener can hash only "clientIp", got "path"`],
    [tcp({ hashKey: "clientIp" }), `cfg: listeners[0].hashKey: only used with "balance": "hash"`],
    [tcp({ upstreams: [{ address: "127.0.0.1:2", weight: 2000 }] }), "cfg: listeners[0].upstreams[0].weight: must be at most 1000, got 2000"],
    [tcp({ upstreams: [{ address: "127.0.0.1:2", backup: "yes" }] }), `cfg: listeners[0].upstreams[0].backup: expected true or false, got "yes"`],
    [{ listeners: [{ mode: "http", listen: "127.0.0.1:1", routes: [{ balance: "hash", hashKey: "header:", upstreams: ["127.0.0.1:2"] }] }] },
      `cfg: listeners[0].routes[0].hashKey: expected "clientIp", "path", "header:NAME" or "cookie:NAME", got "header:"`],
  ];
  for (const [input, message] of cases) assert.throws(() => validateConfig(input, "cfg"), (err: Error) => err.message === message || assert.fail(err.message));
  const ok = validateConfig(tcp({ balance: "hash", upstreams: ["127.0.0.1:2", { address: "127.0.0.1:3", weight: 0, backup: true }] }), "cfg");
  assert.deepEqual(ok.listeners[0].mode === "tcp" && ok.listeners[0].upstreams[1], { address: "127.0.0.1:3", weight: 0, backup: true });
});
