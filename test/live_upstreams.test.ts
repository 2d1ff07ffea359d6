/**
 * Live upstreams (admin `POST /upstreams`, `DELETE /upstreams/:id`) and DNS
 * discovery (`dns.refresh` against a DNS server run by the test), observed in
 * the traffic the upstreams receive (real sockets on 127.0.0.1 / 127.0.0.2).
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { startProxy, type Proxy } from "../src/mod.ts";
import { startTestDns } from "./helpers/dns_server.ts";
import { eventually } from "./helpers/spliced.ts";

const TOKEN = "live-upstreams-test-token-0123456789";

/** A TCP upstream that greets each connection with its name, then echoes. */
interface Named {
  name: string;
  port: number;
  accepted: number;
  close(): Promise<void>;
}

function namedTcp(name: string, host = "127.0.0.1", port = 0): Promise<Named> {
  const sockets = new Set<net.Socket>();
  const self = { name, port: 0, accepted: 0 } as Named;
  const server = net.createServer((s) => {
    self.accepted++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.write(name + "\n");
    s.pipe(s);
  });
  self.close = () => new Promise<void>((done) => {
    for (const s of sockets) s.destroy();
    server.close(() => done());
  });
  return new Promise((resolve) => server.listen(port, host, () => {
    self.port = (server.address() as net.AddressInfo).port;
    resolve(self);
  }));
}

/** Connects through the proxy; resolves with the socket and the greeting upstream's name. */
function tcpVia(port: number): Promise<{ socket: net.Socket; name: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let got = "";
    socket.on("error", reject);
    socket.on("data", function first(d) {
      got += d.toString();
      if (!got.includes("\n")) return;
      socket.off("data", first);
      resolve({ socket, name: got.trim() });
    });
  });
}

async function names(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { socket, name } = await tcpVia(port);
    socket.destroy();
    out.push(name);
  }
  return out;
}

async function admin(proxy: Proxy, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = { connection: "close", "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${proxy.adminAddress()!.port}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}

const ids = (proxy: Proxy) => Object.keys(proxy.stats().upstreams);

test("POST /upstreams adds an upstream that gets traffic; DELETE drains it: open connections finish, new ones never reach it", async () => {
  const a = await namedTcp("a"), b = await namedTcp("b");
  const proxy = await startProxy({
    workers: 2, admin: { listen: "127.0.0.1:0", token: TOKEN },
    listeners: [{ name: "db", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`] }],
  });
  try {
    const port = proxy.address().port;
    const add = await admin(proxy, "POST", "/upstreams", { listener: "db", address: `127.0.0.1:${b.port}`, weight: 1 });
    assert.equal(add.status, 201, JSON.stringify(add.body));
    const bid = `db/127.0.0.1:${b.port}`;
    assert.equal(add.body.id, bid);
    assert.deepEqual(ids(proxy), [`db/127.0.0.1:${a.port}`, bid]);
    const list = await admin(proxy, "GET", "/upstreams");
    assert.ok(list.body.upstreams.some((u: { id: string }) => u.id === bid));
    assert.ok((await admin(proxy, "GET", "/metrics")).body.includes(`upstream="${bid}"`));
    assert.deepEqual(new Set(await names(port, 6)), new Set(["a", "b"]));

    let held = await tcpVia(port);
    while (held.name !== "b") {
      held.socket.destroy();
      held = await tcpVia(port);
    }
    const before = b.accepted;
    const del = await admin(proxy, "DELETE", `/upstreams/${encodeURIComponent(bid)}`);
    assert.equal(del.status, 202, JSON.stringify(del.body));
    assert.deepEqual(ids(proxy), [`db/127.0.0.1:${a.port}`]);
    assert.deepEqual(await names(port, 6), ["a", "a", "a", "a", "a", "a"]);
    assert.equal(b.accepted, before, "no new connection reached the removed upstream");
    const echoed = new Promise<string>((resolve) => held.socket.once("data", (d) => resolve(d.toString())));
    held.socket.write("still here");
    assert.equal(await echoed, "still here", "the open connection to the removed upstream goes on");
    held.socket.destroy();

    assert.equal((await admin(proxy, "DELETE", `/upstreams/${encodeURIComponent(bid)}`)).status, 404);
    const last = await admin(proxy, "DELETE", `/upstreams/${encodeURIComponent(`db/127.0.0.1:${a.port}`)}`);
    assert.equal(last.status, 409);
    assert.equal(last.body.error.code, "last_upstream");
  } finally {
    await proxy.close(0);
    await a.close();
    await b.close();
  }
});

test("POST /upstreams: 400 naming the field, 409 for an existing one, the token required; a reload from the config forgets the change", async () => {
  const a = await namedTcp("a");
  const proxy = await startProxy({
    workers: 1, admin: { listen: "127.0.0.1:0", token: TOKEN },
    listeners: [
      { name: "db", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${a.port}`] },
      { name: "web", mode: "http", listen: "127.0.0.1:0", routes: [{ name: "api", upstreams: [`127.0.0.1:${a.port}`] }] },
    ],
  });
  try {
    const ok = { listener: "db", address: "127.0.0.1:9" };
    const cases: [Record<string, unknown>, string][] = [
      [{ address: "127.0.0.1:9" }, "listener"],
      [{ ...ok, listener: "nope" }, "listener"],
      [{ listener: "db" }, "address"],
      [{ ...ok, address: "127.0.0.1:0" }, "address"],
      [{ ...ok, address: "no port" }, "address"],
      [{ ...ok, weight: 5000 }, "weight"],
      [{ ...ok, backup: "yes" }, "backup"],
      [{ ...ok, route: "api" }, "route"],
      [{ ...ok, listener: "web" }, "route"],
      [{ ...ok, listener: "web", route: "nope" }, "route"],
      [{ ...ok, colour: "red" }, "colour"],
    ];
    for (const [body, field] of cases) {
      const res = await admin(proxy, "POST", "/upstreams", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.field, field, JSON.stringify(res.body));
      assert.ok(res.body.error.message.startsWith(`${field}: `), res.body.error.message);
    }
    assert.equal((await admin(proxy, "POST", "/upstreams", ok, null)).status, 401);
    assert.equal((await admin(proxy, "POST", "/upstreams", ok, "wrong-token-wrong-token-wrong")).status, 401);
    assert.equal((await admin(proxy, "DELETE", `/upstreams/${encodeURIComponent(`db/127.0.0.1:${a.port}`)}`, undefined, null)).status, 401);
    assert.equal(ids(proxy).length, 2, "nothing changed");

    const web = await admin(proxy, "POST", "/upstreams", { listener: "web", route: "api", address: "127.0.0.1:9", backup: true });
    assert.equal(web.status, 201, JSON.stringify(web.body));
    assert.equal(web.body.id, "web/api/127.0.0.1:9");
    assert.equal(web.body.upstreams[0].backup, true);
    assert.equal((await admin(proxy, "POST", "/upstreams", { listener: "web", route: "api", address: "127.0.0.1:9" })).status, 409);
    await proxy.reload({ ...proxy.config, listeners: proxy.config.listeners.map((l) => (l.mode === "http" ? { ...l, routes: l.routes.map((r) => ({ ...r, upstreams: [`127.0.0.1:${a.port}`] })) } : l)) } as never);
    assert.equal(ids(proxy).includes("web/api/127.0.0.1:9"), false, "a reload from the config forgets it");
  } finally {
    await proxy.close(0);
    await a.close();
  }
});

test("HTTP route: an upstream added through the API gets requests", async () => {
  const srv = (name: string) => new Promise<{ port: number; server: http.Server }>((resolve) => {
    const server = http.createServer((req, res) => res.end(name));
    server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, server }));
  });
  const a = await srv("a"), b = await srv("b");
  const proxy = await startProxy({
    workers: 1, admin: { listen: "127.0.0.1:0", token: TOKEN },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", routes: [{ name: "api", upstreams: [`127.0.0.1:${a.port}`] }] }],
  });
  try {
    const res = await proxy.addUpstream({ listener: "web", route: "api", address: `127.0.0.1:${b.port}` });
    assert.deepEqual(res, [`web/api/127.0.0.1:${b.port}`]);
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`http://127.0.0.1:${proxy.address().port}/`, { headers: { connection: "close" } });
      got.add(await r.text());
    }
    assert.deepEqual(got, new Set(["a", "b"]));
  } finally {
    await proxy.close(0);
    a.server.close();
    b.server.close();
  }
});

test("dns: a changed answer moves traffic to the new address; a failed lookup keeps the last good set", async () => {
  const dns = await startTestDns();
  const a = await namedTcp("a", "127.0.0.1");
  const b = await namedTcp("b", "127.0.0.2", a.port);
  dns.set("svc.test", ["127.0.0.1"]);
  const proxy = await startProxy({
    workers: 2, dns: { refresh: "100ms", servers: [dns.server] },
    listeners: [{ name: "db", listen: "127.0.0.1:0", upstreams: [`svc.test:${a.port}`] }],
  });
  const id = (ip: string) => `db/svc.test:${a.port}#${ip}`;
  try {
    const port = proxy.address().port;
    assert.deepEqual(ids(proxy), [id("127.0.0.1")]);
    assert.deepEqual(await names(port, 3), ["a", "a", "a"]);

    dns.set("svc.test", ["127.0.0.2"]);
    assert.ok(await eventually(() => ids(proxy).join() === id("127.0.0.2")), ids(proxy).join());
    const before = a.accepted;
    assert.deepEqual(await names(port, 4), ["b", "b", "b", "b"]);
    assert.equal(a.accepted, before, "the vanished address gets nothing");

    dns.failing = true;
    const q = dns.queries;
    assert.ok(await eventually(() => dns.queries >= q + 4), "the proxy asked again");
    assert.deepEqual(ids(proxy), [id("127.0.0.2")], "a failed lookup keeps the last good set");
    assert.deepEqual(await names(port, 2), ["b", "b"]);

    dns.failing = false;
    dns.set("svc.test", ["127.0.0.1", "127.0.0.2"]);
    assert.ok(await eventually(() => ids(proxy).length === 2), ids(proxy).join());
    assert.deepEqual(new Set(await names(port, 6)), new Set(["a", "b"]));
  } finally {
    await proxy.close(0);
    await a.close();
    await b.close();
    await dns.close();
  }
});

test("config: the dns block is checked with field paths", async () => {
  const { validateConfig, ConfigError } = await import("../src/mod.ts");
  const listeners = [{ listen: "127.0.0.1:1", upstreams: ["127.0.0.1:2"] }];
  assert.equal(validateConfig({ dns: {}, listeners }, "t").dns?.refresh, 30_000);
  assert.deepEqual(validateConfig({ dns: { refresh: "2s", servers: ["[::1]:5353"] }, listeners }, "t").dns, { refresh: 2000, servers: ["[::1]:5353"] });
  try {
    validateConfig({ dns: { refresh: "1ms", servers: ["dns.example:53"], refrsh: 1 }, listeners }, "t");
    assert.fail("accepted");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ["dns", "dns.refresh", "dns.servers[0]"]);
    assert.match(err.issues.find((i) => i.path === "dns")!.message, /did you mean "refresh"/);
  }
});
