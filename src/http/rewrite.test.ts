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
import { CLIENT, DOWN, PLANS, UP, UPSTREAM } from "./_cases/rewrite.ts";

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

// ---------------------------------------------------------- upstream requests

for (const [name, input, opts, want] of UPSTREAM) {
  test(`upstream head: ${name}`, () => {
    assert.equal(upstreamRequestHead(req(input), opts), want);
  });
}

const STRIPS: Array<[target: string, prefix: string | undefined, want: string]> = [
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

for (const [name, input, method, opts, want] of CLIENT) {
  test(`client head: ${name}`, () => {
    assert.equal(clientResponseHead(resp(input, method), opts), want);
  });
}

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
