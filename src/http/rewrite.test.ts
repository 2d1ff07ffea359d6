/**
 * Tests of the forwarded heads: hop-by-hop removal, framing re-stated,
 * X-Forwarded-*, Via, upgrades, route edits, prefix strip, HTTP/1.0 on either
 * side; and that every head built parses back with the strict parsers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseRequestHead, type RequestHead } from "./request.ts";
import { parseResponseHead, type ResponseHead } from "./response.ts";
import {
  clientResponseHead,
  type ClientResponseOptions,
  clientResponsePlan,
  HOP_BY_HOP,
  RESERVED_HEADERS,
  stripPathPrefix,
  upstreamRequestHead,
  type UpstreamRequestOptions,
} from "./rewrite.ts";
import { DEFAULT_LIMITS } from "./head.ts";
import { encodeLatin1 } from "./chars.ts";
import { head } from "./_testing.ts";

function req(text: string): RequestHead {
  const bytes = encodeLatin1(text);
  const r = parseRequestHead(bytes, 0, bytes.length);
  if (r.kind !== "ok") throw new Error(`test request does not parse: ${JSON.stringify(r)}`);
  return r.head;
}

function resp(text: string, method = "GET"): ResponseHead {
  const bytes = encodeLatin1(text);
  const r = parseResponseHead(bytes, 0, bytes.length, DEFAULT_LIMITS, method);
  if (r.kind !== "ok") throw new Error(`test response does not parse: ${JSON.stringify(r)}`);
  return r.head;
}

export const UP: UpstreamRequestOptions = { clientAddress: "10.0.0.1", proto: "http", viaName: "spliced" };
export const DOWN: ClientResponseOptions = { clientVersion: "HTTP/1.1", keepAlive: true, viaName: "spliced" };
const FORWARDED = ["X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: example.com", "Via: 1.1 spliced"];

// ---------------------------------------------------------- upstream requests

export const UPSTREAM: Array<[name: string, input: string, opts: UpstreamRequestOptions, want: string]> = [
  ["a plain GET keeps its fields in order and gains X-Forwarded-* and Via",
    head("GET /a?b HTTP/1.1", "Host: example.com", "User-Agent: t", "Accept: */*"),
    UP,
    head("GET /a?b HTTP/1.1", "Host: example.com", "User-Agent: t", "Accept: */*", ...FORWARDED)],
  ["hop-by-hop fields and what Connection lists are removed",
    head("GET / HTTP/1.1", "Host: example.com", "Connection: keep-alive, X-Secret", "Keep-Alive: timeout=5",
      "Proxy-Connection: keep-alive", "TE: trailers", "Trailer: X-Sum", "Upgrade: websocket", "X-Secret: s", "X-Keep: k"),
    UP,
    head("GET / HTTP/1.1", "Host: example.com", "X-Keep: k", ...FORWARDED)],
  ["Connection cannot remove Host or Content-Length",
    head("POST / HTTP/1.1", "Host: example.com", "Connection: Host, Content-Length, Transfer-Encoding", "Content-Length: 5"),
    UP,
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 5", ...FORWARDED)],
  ["Content-Length is re-stated once from the framing",
    head("POST / HTTP/1.1", "Content-Length: 5, 5", "Host: example.com", "content-length: 5, 5"),
    UP,
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 5", ...FORWARDED)],
  ["chunked framing is re-stated",
    head("POST / HTTP/1.1", "Host: example.com", "transfer-encoding: Chunked", "X-A: 1"),
    UP,
    head("POST / HTTP/1.1", "Host: example.com", "X-A: 1", "Transfer-Encoding: chunked", ...FORWARDED)],
  ["an upgrade keeps Upgrade and Connection: upgrade",
    head("GET /ws HTTP/1.1", "Host: example.com", "Connection: keep-alive, Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: k"),
    UP,
    head("GET /ws HTTP/1.1", "Host: example.com", "Sec-WebSocket-Key: k", "Upgrade: websocket", "Connection: upgrade", ...FORWARDED)],
  ["X-Forwarded-For and Via are appended to; X-Forwarded-Proto/-Host replaced",
    head("GET / HTTP/1.1", "X-Forwarded-For: 1.1.1.1", "Host: example.com", "x-forwarded-for: 2.2.2.2", "Via: 1.0 fred",
      "X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example"),
    UP,
    head("GET / HTTP/1.1", "Host: example.com", "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.1", "X-Forwarded-Proto: http",
      "X-Forwarded-Host: example.com", "Via: 1.0 fred, 1.1 spliced")],
  ["HTTP/1.0 goes upstream as HTTP/1.1 with a Host; Via names 1.0",
    head("GET / HTTP/1.0", "Accept: */*"),
    { ...UP, defaultHost: "backend:8080", proto: "https" },
    head("GET / HTTP/1.1", "Accept: */*", "Host: backend:8080", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: https", "Via: 1.0 spliced")],
  ["HTTP/1.0 without Host or default gets an empty Host",
    head("GET / HTTP/1.0"),
    UP,
    head("GET / HTTP/1.1", "Host: ", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: http", "Via: 1.0 spliced")],
  ["HTTP/1.0 absolute-form: Host from the target, target as sent",
    head("GET http://example.com/x HTTP/1.0"),
    UP,
    head("GET http://example.com/x HTTP/1.1", "Host: example.com", ...FORWARDED.slice(0, 3), "Via: 1.0 spliced")],
  ["close asks the upstream to close",
    head("GET / HTTP/1.1", "Host: example.com"),
    { ...UP, close: true },
    head("GET / HTTP/1.1", "Host: example.com", "Connection: close", ...FORWARDED)],
  ["route edits: set replaces (Host too), remove drops; framing and Connection untouchable",
    head("POST / HTTP/1.1", "Host: example.com", "User-Agent: t", "Content-Length: 2", "X-Route: client"),
    {
      ...UP,
      setHeaders: { "X-Route": "r1", Host: "internal", "Content-Length": "999", connection: "close" },
      removeHeaders: ["user-agent", "VIA", "host", "Transfer-Encoding", "Content-Length"],
    },
    head("POST / HTTP/1.1", "Content-Length: 2", ...FORWARDED.slice(0, 3), "X-Route: r1", "Host: internal")],
  ["prefix strip on origin-form",
    head("GET /api/users?id=1 HTTP/1.1", "Host: example.com"),
    { ...UP, pathPrefixStrip: "/api" },
    head("GET /users?id=1 HTTP/1.1", "Host: example.com", ...FORWARDED)],
  ["obs-text passes through byte for byte",
    head("GET / HTTP/1.1", "Host: example.com", "X-Name: caf\u00e9"),
    UP,
    head("GET / HTTP/1.1", "Host: example.com", "X-Name: caf\u00e9", ...FORWARDED)],
];

for (const [name, input, opts, want] of UPSTREAM) {
  test(`upstream head: ${name}`, () => {
    assert.equal(upstreamRequestHead(req(input), opts), want);
  });
}

export const STRIPS: Array<[target: string, prefix: string | undefined, want: string]> = [
  ["/api/x", "/api", "/x"],
  ["/api/x", "/api/", "/x"],
  ["/api", "/api", "/"],
  ["/api/", "/api", "/"],
  ["/api?q=1", "/api", "/?q=1"],
  ["/apix", "/api", "/apix"],
  ["/x/api", "/api", "/x/api"],
  ["/api/x", "", "/api/x"],
  ["/api/x", "/", "/api/x"],
  ["/api/x", undefined, "/api/x"],
];

for (const [target, prefix, want] of STRIPS) {
  test(`stripPathPrefix(${target}, ${prefix}) → ${want}`, () => {
    assert.equal(stripPathPrefix(target, prefix), want);
  });
}

test("upstream head: prefix strip leaves absolute-form, authority-form and * alone", () => {
  const opts = { ...UP, pathPrefixStrip: "/api" };
  for (const [line, target] of [["GET http://example.com/api/x HTTP/1.1", "http://example.com/api/x"], ["OPTIONS * HTTP/1.1", "*"]]) {
    assert.ok(upstreamRequestHead(req(head(line, "Host: example.com")), opts).startsWith(`${line.split(" ")[0]} ${target} HTTP/1.1\r\n`));
  }
});

test("HOP_BY_HOP and RESERVED_HEADERS hold the brief's names", () => {
  assert.deepEqual([...HOP_BY_HOP].sort(), ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);
  assert.ok(RESERVED_HEADERS.has("content-length") && !RESERVED_HEADERS.has("host"));
});

// ---------------------------------------------------------- client responses

const OK5 = head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5");

export const CLIENT: Array<[name: string, input: string, method: string, opts: ClientResponseOptions, want: string]> = [
  ["a 200 with a length to a kept HTTP/1.1 client", OK5, "GET", DOWN,
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Via: 1.1 spliced")],
  ["a kept HTTP/1.0 client gets Connection: keep-alive", OK5, "GET", { ...DOWN, clientVersion: "HTTP/1.0" },
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Connection: keep-alive", "Via: 1.1 spliced")],
  ["a client not kept gets Connection: close", OK5, "GET", { ...DOWN, keepAlive: false },
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Connection: close", "Via: 1.1 spliced")],
  ["forceClose", OK5, "GET", { ...DOWN, forceClose: true },
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Connection: close", "Via: 1.1 spliced")],
  ["chunked to HTTP/1.1", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", DOWN,
    head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Via: 1.1 spliced")],
  ["chunked to HTTP/1.0: de-chunked, closed", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", { ...DOWN, clientVersion: "HTTP/1.0" },
    head("HTTP/1.1 200 OK", "Connection: close", "Via: 1.1 spliced")],
  ["read-until-close: the client is closed too", head("HTTP/1.0 200 OK", "X-A: 1"), "GET", DOWN,
    head("HTTP/1.1 200 OK", "X-A: 1", "Connection: close", "Via: 1.0 spliced")],
  ["hop-by-hop fields and what Connection lists are removed; Via appended",
    head("HTTP/1.1 200 OK", "Connection: keep-alive, X-Internal", "Keep-Alive: timeout=5", "X-Internal: 1", "Trailer: X-Sum",
      "Proxy-Connection: keep-alive", "Via: 1.1 cdn", "Content-Length: 0"),
    "GET", DOWN, head("HTTP/1.1 200 OK", "Content-Length: 0", "Via: 1.1 cdn, 1.1 spliced")],
  ["HEAD keeps the Content-Length it would have had", head("HTTP/1.1 200 OK", "Content-Length: 1000"), "HEAD", DOWN,
    head("HTTP/1.1 200 OK", "Content-Length: 1000", "Via: 1.1 spliced")],
  ["304 keeps its Content-Length", head("HTTP/1.1 304 Not Modified", "ETag: \"e\"", "Content-Length: 42"), "GET", DOWN,
    head("HTTP/1.1 304 Not Modified", "ETag: \"e\"", "Content-Length: 42", "Via: 1.1 spliced")],
  ["204 loses a Content-Length", head("HTTP/1.1 204 No Content", "Content-Length: 0"), "GET", DOWN,
    head("HTTP/1.1 204 No Content", "Via: 1.1 spliced")],
  ["100 Continue has no Connection field", head("HTTP/1.1 100 Continue"), "PUT", { ...DOWN, keepAlive: false },
    head("HTTP/1.1 100 Continue", "Via: 1.1 spliced")],
  ["101 keeps Upgrade with Connection: upgrade",
    head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: a"), "GET", DOWN,
    head("HTTP/1.1 101 Switching Protocols", "Sec-WebSocket-Accept: a", "Upgrade: websocket", "Connection: upgrade", "Via: 1.1 spliced")],
  ["CONNECT 200: no framing, no Connection", head("HTTP/1.1 200 Connection Established", "Content-Length: 0"), "CONNECT", DOWN,
    head("HTTP/1.1 200 Connection Established", "Via: 1.1 spliced")],
  ["426 keeps its Upgrade offer", head("HTTP/1.1 426 Upgrade Required", "Upgrade: TLS/1.2", "Connection: Upgrade", "Content-Length: 0"), "GET", DOWN,
    head("HTTP/1.1 426 Upgrade Required", "Content-Length: 0", "Upgrade: TLS/1.2", "Connection: upgrade", "Via: 1.1 spliced")],
  ["an empty reason is filled in", head("HTTP/1.1 404", "Content-Length: 0"), "GET", DOWN,
    head("HTTP/1.1 404 Not Found", "Content-Length: 0", "Via: 1.1 spliced")],
  ["route edits on a response", OK5, "GET",
    { ...DOWN, setHeaders: { "X-Frame-Options": "DENY", "Content-Length": "1" }, removeHeaders: ["content-type", "via"] },
    head("HTTP/1.1 200 OK", "Content-Length: 5", "X-Frame-Options: DENY")],
];

for (const [name, input, method, opts, want] of CLIENT) {
  test(`client head: ${name}`, () => {
    assert.equal(clientResponseHead(resp(input, method), opts), want);
  });
}

export const PLANS: Array<[name: string, input: string, method: string, opts: Partial<ClientResponseOptions>, want: object]> = [
  ["kept", OK5, "GET", {}, { send: true, keepAlive: true, dechunk: false }],
  ["not kept", OK5, "GET", { keepAlive: false }, { send: true, keepAlive: false, dechunk: false }],
  ["chunked to 1.0", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", { clientVersion: "HTTP/1.0" }, { send: true, keepAlive: false, dechunk: true }],
  ["close framing", head("HTTP/1.1 200 OK"), "GET", {}, { send: true, keepAlive: false, dechunk: false }],
  ["100 to 1.0 is dropped", head("HTTP/1.1 100 Continue"), "GET", { clientVersion: "HTTP/1.0" }, { send: false, keepAlive: true, dechunk: false }],
  ["101 becomes a tunnel", head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"), "GET", {}, { send: true, keepAlive: false, dechunk: false }],
  ["upstream close does not close the client", head("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 1"), "GET", {}, { send: true, keepAlive: true, dechunk: false }],
];

for (const [name, input, method, opts, want] of PLANS) {
  test(`client plan: ${name}`, () => {
    assert.deepEqual(clientResponsePlan(resp(input, method), { ...DOWN, ...opts }), want);
  });
}

// ----------------------------------------------------------------- properties

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,15}[\x21-\x7e])?$/);
const field = fc.tuple(fc.oneof(token, fc.constantFrom(...HOP_BY_HOP, "Via", "X-Forwarded-For", "X-Forwarded-Host")), value);
const framing = fc.constantFrom("none", "length", "chunked");

test("property: every upstream head parses strictly, keeps method/target/framing, and has no hop-by-hop field but framing", () => {
  fc.assert(
    fc.property(fc.array(field, { maxLength: 12 }), framing, fc.boolean(), (fields, kind, upgrade) => {
      const clean = fields.filter(([n]) => !["connection", "transfer-encoding", "upgrade", "content-length", "host", "expect"].includes(n.toLowerCase()));
      const extra = kind === "length" ? ["Content-Length: 7"] : kind === "chunked" ? ["Transfer-Encoding: chunked"] : [];
      const up = upgrade ? ["Connection: upgrade", "Upgrade: websocket"] : [];
      const input = req(head("POST /p HTTP/1.1", "Host: example.com", ...clean.map(([n, v]) => `${n}: ${v}`), ...extra, ...up));
      const out = upstreamRequestHead(input, UP);
      const bytes = encodeLatin1(out);
      const r = parseRequestHead(bytes, 0, bytes.length);
      assert.equal(r.kind, "ok", out);
      if (r.kind !== "ok") return;
      assert.equal(r.length, bytes.length);
      assert.deepEqual([r.head.method, r.head.target, r.head.framing, r.head.upgrade], [input.method, input.target, input.framing, input.upgrade]);
      const names = r.head.headers.map(([n]) => n.toLowerCase());
      const allowed = new Set(["transfer-encoding", ...(upgrade ? ["upgrade", "connection"] : [])]);
      assert.deepEqual(names.filter((n) => HOP_BY_HOP.has(n) && !allowed.has(n)), []);
    }),
    { numRuns: 300 },
  );
});

test("property: every client head parses strictly and keeps status and framing", () => {
  const status = fc.constantFrom(200, 201, 204, 206, 301, 304, 404, 500, 503);
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), framing, status, fc.boolean(), (fields, kind, code, keepAlive) => {
      const clean = fields.filter(([n]) => !["connection", "transfer-encoding", "upgrade", "content-length"].includes(n.toLowerCase()));
      const extra = kind === "length" ? ["Content-Length: 9"] : kind === "chunked" ? ["Transfer-Encoding: chunked"] : [];
      const input = resp(head(`HTTP/1.1 ${code} X`, ...clean.map(([n, v]) => `${n}: ${v}`), ...extra));
      const out = clientResponseHead(input, { ...DOWN, keepAlive });
      const bytes = encodeLatin1(out);
      const r = parseResponseHead(bytes, 0, bytes.length, DEFAULT_LIMITS, "GET");
      assert.equal(r.kind, "ok", out);
      if (r.kind !== "ok") return;
      assert.equal(r.head.status, code);
      assert.deepEqual(r.head.framing, input.framing);
      assert.equal(r.head.keepAlive, keepAlive && input.framing.kind !== "close");
    }),
    { numRuns: 300 },
  );
});
