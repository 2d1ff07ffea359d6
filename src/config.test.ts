/**
 * Config validation: `sendTimeout`; spliced's own messages (what a field
 * expects and got, unknown keys with the key a typo meant, invalid JSON at
 * its line and column); listen addresses; header values the data plane can
 * send; and the preflight checks (file system, DNS).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { addressesOverlap, checkListenAddress, checkUpstreamAddress, parseHostPort, resolveHost } from "./address.ts";
import { locateJsonError } from "./config/json.ts";
import { editDistance, suggest } from "./config/suggest.ts";
import { assertPreflight, parseConfigText, preflightConfig, validateConfig } from "./config.ts";
import { accessLogProblem } from "./config/preflight.ts";
import { ConfigError, ResolveError, UnresolvedError } from "./errors.ts";

const tcp = { listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] };
const http = { mode: "http", listen: "127.0.0.1:0", routes: [{ upstreams: ["127.0.0.1:1"] }] };

test("config: sendTimeout defaults to 60 s on TCP and HTTP listeners", () => {
  const cfg = validateConfig({ workers: 1, listeners: [tcp, http] }, "test");
  assert.deepEqual(cfg.listeners.map((l) => l.sendTimeout), [60_000, 60_000]);
});

test("config: sendTimeout takes durations like the other timeouts", () => {
  const cfg = validateConfig({ workers: 1, listeners: [{ ...tcp, sendTimeout: "1s" }, { ...http, sendTimeout: 250 }] }, "test");
  assert.deepEqual(cfg.listeners.map((l) => l.sendTimeout), [1000, 250]);
  const minutes = validateConfig({ workers: 1, listeners: [{ ...http, sendTimeout: "2m" }] }, "test");
  assert.equal(minutes.listeners[0].sendTimeout, 120_000);
});

test("config: a bad sendTimeout is a ConfigError naming the field", () => {
  for (const bad of ["0", "soon", -1, "2d"]) {
    assert.throws(
      () => validateConfig({ workers: 1, listeners: [{ ...http, sendTimeout: bad }] }, "x.json"),
      (err: unknown) => err instanceof ConfigError && /x\.json: listeners\[0\]\.sendTimeout: /.test(err.message),
      String(bad),
    );
  }
});

// --- Messages: spliced's own words, never zod's ---------------------------------------------

/** The lines of the ConfigError `fn` throws. */
function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${err}`);
    return err.message.split("\n");
  }
  assert.fail("no error");
}

const check = (input: unknown) => errorLines(() => validateConfig(input, "f.json"));

test("config messages: missing fields say what they expect", () => {
  assert.deepEqual(check({}), [
    `f.json: listeners: missing: expected at least one listener, as "listeners": [{ "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }]`,
  ]);
  assert.deepEqual(check({ listeners: [{ listen: "127.0.0.1:1" }] }), [
    `f.json: listeners[0].upstreams: missing: expected at least one upstream, as "upstreams": ["HOST:PORT", ...]`,
  ]);
  assert.deepEqual(check({ listeners: [{ upstreams: ["127.0.0.1:1"] }] }), ["f.json: listeners[0].listen: missing: expected HOST:PORT"]);
  assert.deepEqual(check({ admin: {}, listeners: [tcp] }), ["f.json: admin.listen: missing: expected HOST:PORT"]);
  assert.deepEqual(check({ listeners: [{ mode: "http", listen: "127.0.0.1:0", routes: [{ static: {} }] }] }), [
    "f.json: listeners[0].routes[0].static.root: missing: expected a directory path",
  ]);
});

test("config messages: wrong types and values say what they expect and what they got", () => {
  assert.deepEqual(check([]), [`f.json: (root): expected a JSON object, as { "listeners": [...] }, got a list`]);
  assert.deepEqual(check(null), [`f.json: (root): expected a JSON object, as { "listeners": [...] }, got null`]);
  assert.deepEqual(check({ workers: "x", listeners: [{ listen: "127.0.0.1:1", upstreams: "a:1" }] }), [
    `f.json: workers: expected a whole number of data-plane threads, 1 to 256, got "x"`,
    `f.json: listeners[0].upstreams: expected a list of upstreams, as ["HOST:PORT", ...], got "a:1"`,
  ]);
  assert.deepEqual(check({ workers: 1.5, listeners: [tcp] }), ["f.json: workers: expected a whole number, got 1.5"]);
  assert.deepEqual(check({ workers: 0, listeners: [tcp] }), ["f.json: workers: must be at least 1, got 0"]);
  assert.deepEqual(check({ workers: 300, listeners: [tcp] }), ["f.json: workers: must be at most 256, got 300"]);
  assert.deepEqual(check({ listeners: [{ ...tcp, connectTimeout: true }] }), [
    "f.json: listeners[0].connectTimeout: expected a duration like 500ms, 5s, 10m or 1h, or a number of milliseconds, got true",
  ]);
  assert.deepEqual(check({ listeners: [{ ...tcp, connectTimeout: "2d" }] }), [
    `f.json: listeners[0].connectTimeout: not a duration: "2d" (use e.g. 500ms, 5s, 10m, 1h)`,
  ]);
  assert.deepEqual(check({ gracePeriod: "99h", listeners: [tcp] }), [`f.json: gracePeriod: must be from 0ms to 24h, got "99h"`]);
  assert.deepEqual(check({ listeners: [{ mode: "udp", listen: "127.0.0.1:1" }] }), [`f.json: listeners[0].mode: expected "tcp", "http" or "tls", got "udp"`]);
  assert.deepEqual(check({ listeners: [{ ...http, routes: [{ static: { root: "/", dotfiles: "maybe" } }] }] }), [
    `f.json: listeners[0].routes[0].static.dotfiles: expected "deny" or "allow", got "maybe"`,
  ]);
  assert.deepEqual(check({ listeners: [1, null] }), [
    `f.json: listeners[0]: expected a listener object, as { "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }, got 1`,
    `f.json: listeners[1]: expected a listener object, as { "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }, got null`,
  ]);
  assert.deepEqual(check({ listeners: [{ ...http, routes: [{}] }] }), [
    `f.json: listeners[0].routes[0]: needs "upstreams" (["HOST:PORT", ...]) or "static" ({ "root": DIR })`,
  ]);
});

test("config messages: an unknown key names the key a typo meant, and that key is not also reported missing", () => {
  assert.deepEqual(check({ listeners: [{ listen: "127.0.0.1:1", upstream: ["a:1"] }] }), [
    `f.json: listeners[0]: unknown key "upstream"; did you mean "upstreams"?`,
  ]);
  assert.deepEqual(check({ Listeners: [tcp], worker: 2, pipe_size: 1, colour: "red" }), [
    `f.json: (root): unknown key "Listeners"; did you mean "listeners"?`,
    `f.json: (root): unknown key "worker"; did you mean "workers"?`,
    `f.json: (root): unknown key "pipe_size"; did you mean "pipeSize"?`,
    `f.json: (root): unknown key "colour"`,
  ]);
  assert.deepEqual(check({ listeners: [{ ...tcp, conectTimeout: "1s" }] }), [
    `f.json: listeners[0]: unknown key "conectTimeout"; did you mean "connectTimeout"?`,
  ]);
  assert.deepEqual(check({ listeners: [{ ...http, routes: [{ upstreams: ["a:1"], stripprefix: true }] }] }), [
    `f.json: listeners[0].routes[0]: unknown key "stripprefix"; did you mean "stripPrefix"?`,
  ]);
  assert.deepEqual(check({ listeners: [{ listen: "127.0.0.1:1", routes: [] }] }), [
    `f.json: listeners[0]: unknown key "routes" for a tcp listener: add "mode": "http" for an HTTP listener`,
  ]);
  assert.deepEqual(check({ listeners: [{ mode: "http", listen: "127.0.0.1:1", upstreams: ["a:1"] }] }), [
    `f.json: listeners[0]: unknown key "upstreams" for an http listener: its upstreams go in routes, as "routes": [{ "upstreams": [...] }]`,
  ]);
});

test("config messages: listen addresses are IP addresses; 300.1.1.1 and host names are refused", () => {
  assert.deepEqual(check({ listeners: [{ ...tcp, listen: "300.1.1.1:80" }] }), [
    `f.json: listeners[0].listen: "300.1.1.1" is not a valid IPv4 address (four numbers from 0 to 255, as 127.0.0.1)`,
  ]);
  assert.deepEqual(check({ listeners: [{ ...tcp, listen: "localhost:7001" }] }), [
    `f.json: listeners[0].listen: "localhost" is a host name: a listen address is an IP address; use 127.0.0.1:7001 (or [::1]:7001)`,
  ]);
  assert.deepEqual(check({ listeners: [{ ...tcp, listen: "db.internal:7001" }] }), [
    `f.json: listeners[0].listen: "db.internal" is a host name: a listen address is an IP address; use 0.0.0.0:7001 for every IPv4 address, [::]:7001 for every address`,
  ]);
  assert.deepEqual(check({ listeners: [{ ...tcp, upstreams: ["300.1.1.1:1", ":5", "a:0", "a b:1", "::1:80", "a:70000"] }] }), [
    `f.json: listeners[0].upstreams[0]: "300.1.1.1" is not a valid IPv4 address (four numbers from 0 to 255, as 127.0.0.1)`,
    `f.json: listeners[0].upstreams[1]: the host is missing in ":5" (expected HOST:PORT)`,
    `f.json: listeners[0].upstreams[2]: port 0 in "a:0": an upstream needs a port from 1 to 65535`,
    `f.json: listeners[0].upstreams[3]: "a b" is not a valid host name or IP address`,
    `f.json: listeners[0].upstreams[4]: expected HOST:PORT or [IPv6]:PORT, got "::1:80" (an IPv6 address goes in brackets: [::1]:PORT)`,
    `f.json: listeners[0].upstreams[5]: port out of range in "a:70000" (use 0 to 65535)`,
  ]);
  for (const ok of ["127.0.0.1:0", ":80", "[::1]:80", "[::]:80", "0.0.0.0:65535", "[::ffff:127.0.0.1]:1"]) checkListenAddress(ok);
  for (const ok of ["db:5432", "db.internal.:5432", "my_host-1.example.com:1", "[::1]:1", "10.0.0.1:65535"]) checkUpstreamAddress(ok);
  assert.deepEqual(parseHostPort(":80"), { host: "0.0.0.0", port: 80 });
});

test("config: two listeners on one address, or on a wildcard and an address it covers, are refused", () => {
  const on = (listen: string, name: string) => ({ ...tcp, name, listen });
  assert.deepEqual(check({ listeners: [on("127.0.0.1:7001", "a"), on("127.0.0.1:7001", "b")] }), [
    "f.json: listeners[1].listen: 127.0.0.1:7001 is also listeners[0].listen: two listeners cannot share an address",
  ]);
  assert.deepEqual(check({ listeners: [on("127.0.0.1:7001", "a"), on("0.0.0.0:7001", "b"), on("[::]:7001", "c")] }), [
    "f.json: listeners[1].listen: 0.0.0.0:7001 overlaps listeners[0].listen (127.0.0.1:7001): the same port on addresses that cover each other",
    "f.json: listeners[2].listen: [::]:7001 overlaps listeners[0].listen (127.0.0.1:7001): the same port on addresses that cover each other",
  ]);
  // Port 0 picks a port per listener; different ports and different specific addresses are fine.
  validateConfig({ listeners: [on("127.0.0.1:0", "a"), on("127.0.0.1:0", "b"), on("127.0.0.2:7001", "c"), on("127.0.0.1:7001", "d"), on("[::1]:7001", "e")] }, "t");
  const hp = (text: string) => parseHostPort(text);
  assert.ok(addressesOverlap(hp("[::ffff:127.0.0.1]:1"), hp("127.0.0.1:1")));
  assert.ok(addressesOverlap(hp("[0:0:0:0:0:0:0:1]:1"), hp("[::1]:1")));
  assert.ok(addressesOverlap(hp(":1"), hp("10.1.2.3:1")));
  assert.ok(!addressesOverlap(hp("0.0.0.0:1"), hp("[::1]:1")));
});

test("config: header values the data plane cannot send are refused (visible ASCII, space and tab only)", () => {
  const route = (set: Record<string, string>, remove: string[] = []) =>
    ({ listeners: [{ ...http, routes: [{ upstreams: ["127.0.0.1:1"], requestHeaders: { set, remove }, responseHeaders: { set } }] }] });
  assert.deepEqual(check(route({ "X-A": "→" })), [
    `f.json: listeners[0].routes[0].requestHeaders.set.X-A: header values may hold visible ASCII, spaces and tabs only; "→" (U+2192) at character 1 is not`,
    `f.json: listeners[0].routes[0].responseHeaders.set.X-A: header values may hold visible ASCII, spaces and tabs only; "→" (U+2192) at character 1 is not`,
  ]);
  assert.deepEqual(check(route({ "X-B": "a\r\nInjected: 1" })).slice(0, 1), [
    "f.json: listeners[0].routes[0].requestHeaders.set.X-B: header values may hold visible ASCII, spaces and tabs only; U+000D at character 2 is not",
  ]);
  assert.deepEqual(check(route({ "X-C": "caf\u00e9" })).slice(0, 1), [
    `f.json: listeners[0].routes[0].requestHeaders.set.X-C: header values may hold visible ASCII, spaces and tabs only; "é" (U+00E9) at character 4 is not`,
  ]);
  assert.deepEqual(check(route({ "X-D": " padded" })).slice(0, 1), [
    "f.json: listeners[0].routes[0].requestHeaders.set.X-D: header values cannot start or end with a space or tab",
  ]);
  assert.deepEqual(check(route({ "X Y": "1" })).slice(0, 1), [
    "f.json: listeners[0].routes[0].requestHeaders.set[\"X Y\"]: not a valid header name (letters, digits and !#$%&'*+-.^_`|~)",
  ]);
  assert.deepEqual(check(route({}, ["X:Y"])), [
    "f.json: listeners[0].routes[0].requestHeaders.remove[0]: not a valid header name (letters, digits and !#$%&'*+-.^_`|~)",
  ]);
  validateConfig(route({ "X-Ok": "a\tb c ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}" }, ["X-Debug"]), "t");
});

test("config: invalid JSON is reported at its line and column, in spliced's words", () => {
  const parse = (text: string) => errorLines(() => parseConfigText(text, "j.json"))[0];
  assert.equal(parse(""), "j.json: (root): invalid JSON: line 1 column 1: the file is empty");
  assert.equal(parse("{"), "j.json: (root): invalid JSON: line 1 column 2: unexpected end of file: missing '}'");
  assert.equal(parse('{\n  "listeners": [\n    { "listen": "127.0.0.1:0", },\n  ]\n}'), "j.json: (root): invalid JSON: line 3 column 30: trailing comma before '}'");
  assert.equal(parse("[1,2,]"), "j.json: (root): invalid JSON: line 1 column 5: trailing comma before ']'");
  assert.equal(parse("{listen: 1}"), `j.json: (root): invalid JSON: line 1 column 2: unexpected word "listen": keys need double quotes`);
  assert.equal(parse("{'a': 1}"), `j.json: (root): invalid JSON: line 1 column 2: unexpected "'": JSON strings use double quotes`);
  assert.equal(parse('{"a": tru}'), `j.json: (root): invalid JSON: line 1 column 7: unexpected word "tru": JSON's words are true, false and null`);
  assert.equal(parse('{"a" 1}'), "j.json: (root): invalid JSON: line 1 column 6: expected ':' after the key, got '1'");
  assert.equal(parse('{"a":1} x'), "j.json: (root): invalid JSON: line 1 column 9: unexpected 'x' after the end of the JSON value");
  assert.equal(parse("// note\n{}"), "j.json: (root): invalid JSON: line 1 column 1: unexpected '/': JSON has no comments");
  assert.equal(parse('{"a":"b\nc"}'), "j.json: (root): invalid JSON: line 1 column 8: line break inside a string (write it as \\n)");
  assert.equal(parse('{\n  "a": 01\n}'), "j.json: (root): invalid JSON: line 2 column 8: numbers cannot start with 0");
  assert.equal(parse('{"a": "\\x"}'), `j.json: (root): invalid JSON: line 1 column 8: invalid escape "\\x" in a string`);
  assert.equal(parse('{"a":1 "b":2}'), `j.json: (root): invalid JSON: line 1 column 8: expected ',' or '}', got '"'`);
  assert.equal(parse('{"é→": "x" ]'), "j.json: (root): invalid JSON: line 1 column 12: expected ',' or '}', got ']'");
  assert.equal(parse('{"a": "unterminated'), "j.json: (root): invalid JSON: line 1 column 7: unterminated string");
  // A byte order mark is skipped; the rest is validated as usual.
  assert.equal(parse('\ufeff{"listeners": 5}'), `j.json: listeners: expected a list of listeners, as [{ "listen": "HOST:PORT", "upstreams": ["HOST:PORT"] }], got 5`);
  assert.equal(locateJsonError('{"a": [1, 2.5e-3, true, null, {"b": "\\u00e9"}]}'), undefined);
  assert.equal(locateJsonError("[".repeat(100_000))?.reason, "unexpected end of file: missing ']'");
});

test("suggest: edit distance with transpositions, case and separators folded", () => {
  assert.equal(editDistance("upstream", "upstreams"), 1);
  assert.equal(editDistance("lsiten", "listen"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(suggest("connect_timeout", ["connectTimeout", "idleTimeout"]), "connectTimeout");
  assert.equal(suggest("lsiten", ["listen", "name"]), "listen");
  assert.equal(suggest("colour", ["listen", "name", "mode"]), undefined);
});

// --- Preflight: file system and DNS -----------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), "spliced-config-"));
mkdirSync(join(tmp, "www"));
writeFileSync(join(tmp, "file.txt"), "x");
writeFileSync(join(tmp, "token"), "0123456789abcdef0123\n");

/** A resolver that knows `known.test` only. */
const fakeDns = async (host: string) => {
  if (host === "known.test") return "127.0.0.1";
  throw new ResolveError(host, "no such host");
};

test("preflight: static roots, access log directories and token files must exist", async () => {
  const cfg = validateConfig({
    workers: 1, admin: { listen: "127.0.0.1:0", tokenFile: join(tmp, "missing-token") },
    listeners: [{
      ...http, accessLog: join(tmp, "no-dir", "x.log"),
      routes: [{ path: "/a", static: { root: join(tmp, "nowhere") } }, { path: "/b", static: { root: join(tmp, "file.txt") } }, { static: { root: join(tmp, "www") } }],
    }, { ...http, listen: "127.0.0.1:0", accessLog: join(tmp, "file.txt", "x.log"), routes: [{ upstreams: ["127.0.0.1:1"] }] },
    { ...http, listen: "127.0.0.1:0", accessLog: join(tmp, "www"), routes: [{ upstreams: ["127.0.0.1:1"] }] }],
  }, "t");
  const report = await preflightConfig(cfg, { resolve: fakeDns });
  assert.deepEqual(report.errors, [
    { path: "admin.tokenFile", message: `cannot read token file "${join(tmp, "missing-token")}": file not found` },
    { path: "listeners[0].accessLog", message: `directory "${join(tmp, "no-dir")}" does not exist` },
    { path: "listeners[0].routes[0].static.root", message: `directory "${join(tmp, "nowhere")}" does not exist` },
    { path: "listeners[0].routes[1].static.root", message: `"${join(tmp, "file.txt")}" is not a directory` },
    { path: "listeners[1].accessLog", message: `"${join(tmp, "file.txt")}" is not a directory` },
    { path: "listeners[2].accessLog", message: `"${join(tmp, "www")}" is a directory` },
  ]);
  const good = validateConfig({
    workers: 1, admin: { listen: "127.0.0.1:0", tokenFile: join(tmp, "token") },
    listeners: [{ ...http, accessLog: join(tmp, "www", "access.log"), routes: [{ static: { root: join(tmp, "www") } }] }, { ...http, listen: "127.0.0.1:0", accessLog: "-" }],
  }, "t");
  assert.deepEqual(await preflightConfig(good, { resolve: fakeDns }), { errors: [], unresolved: [], warnings: [] });
});

test("preflight: upstream names that do not resolve are reported apart (a warning for check, an error at start)", async () => {
  const cfg = validateConfig({
    workers: 1,
    listeners: [
      { ...tcp, upstreams: ["known.test:1", "gone.test:2", "10.0.0.1:3"] },
      { ...http, listen: "127.0.0.1:0", routes: [{ upstreams: ["gone.test:4"] }] },
    ],
  }, "t");
  const report = await preflightConfig(cfg, { resolve: fakeDns });
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.unresolved, [
    { path: "listeners[0].upstreams[1]", message: `cannot resolve "gone.test": no such host` },
    { path: "listeners[1].routes[0].upstreams[0]", message: `cannot resolve "gone.test": no such host` },
  ]);
  await assert.rejects(() => assertPreflight(cfg, "f.json", { resolve: fakeDns }), (err: unknown) =>
    err instanceof UnresolvedError && err instanceof ConfigError &&
    err.message === `f.json: listeners[0].upstreams[1]: cannot resolve "gone.test": no such host\nf.json: listeners[1].routes[0].upstreams[0]: cannot resolve "gone.test": no such host`);
});

test("preflight: the admin address must resolve and must not be a listener's", async () => {
  const on = (admin: string) => validateConfig({ workers: 1, admin: { listen: admin }, listeners: [{ ...tcp, listen: "127.0.0.1:7001" }] }, "t");
  assert.deepEqual((await preflightConfig(on("known.test:7001"), { resolve: fakeDns })).errors, [
    { path: "admin.listen", message: "known.test:7001 (127.0.0.1:7001) is also listeners[0].listen: the admin server needs an address of its own" },
  ]);
  assert.deepEqual((await preflightConfig(on("gone.test:9090"), { resolve: fakeDns })).errors, [
    { path: "admin.listen", message: `cannot resolve "gone.test": no such host` },
  ]);
  assert.deepEqual((await preflightConfig(on("127.0.0.1:7002"), { resolve: fakeDns })).errors, []);
});

test("preflight: header edits spliced ignores are warned about", async () => {
  const cfg = validateConfig({ workers: 1, listeners: [{ ...http, routes: [{ upstreams: ["127.0.0.1:1"], requestHeaders: { set: { Connection: "x" }, remove: ["Transfer-Encoding", "X-Ok"] } }] }] }, "t");
  assert.deepEqual((await preflightConfig(cfg)).warnings, [
    { path: "listeners[0].routes[0].requestHeaders.remove[0]", message: "spliced writes Transfer-Encoding itself: removing it is ignored" },
    { path: "listeners[0].routes[0].requestHeaders.set.Connection", message: "spliced writes Connection itself: this setting is ignored" },
  ]);
});

test("resolveHost: a name that does not resolve reads the same on every runtime", async () => {
  assert.equal(await resolveHost("127.0.0.1"), "127.0.0.1");
  await assert.rejects(() => resolveHost("nosuchhost.invalid"), (err: unknown) =>
    err instanceof ResolveError && err.host === "nosuchhost.invalid" &&
    /^cannot resolve "nosuchhost\.invalid": (no such host|temporary failure in name resolution)$/.test(err.message));
  await assert.rejects(() => resolveHost("a b"), (err: unknown) => err instanceof ResolveError && err.message === `cannot resolve "a b": not a valid host name`);
});

test("preflight: a directory spliced cannot write to is refused for an access log", { skip: process.getuid?.() === 0 ? "root writes anywhere" : false }, () => {
  const ro = join(tmp, "read-only");
  mkdirSync(ro, { mode: 0o555 });
  assert.equal(accessLogProblem(join(ro, "x.log")), `directory "${ro}" is not writable`);
});
