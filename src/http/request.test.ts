/**
 * Table tests of the request head parser: every acceptance, every rejection
 * (request smuggling shapes included), incremental feeding, limits, and
 * properties over generated heads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseRequestHead, type RequestHead } from "./request.ts";
import { DEFAULT_LIMITS, type HeadLimits, HeadScan } from "./head.ts";
import { encodeLatin1 } from "./chars.ts";
import { feed, framed, head, isReset, prefixKinds } from "./_testing.ts";

function parse(text: string, limits?: HeadLimits) {
  const { buf, start, end } = framed(text);
  return parseRequestHead(buf, start, end, limits);
}

function parseOk(text: string, limits?: HeadLimits): RequestHead {
  const r = parse(text, limits);
  assert.equal(r.kind, "ok", `expected ok, got ${JSON.stringify(r)}`);
  if (r.kind !== "ok") throw new Error("unreachable");
  assert.equal(r.length, text.length, "length is the whole head");
  return r.head;
}

const parseBytes = (buf: Uint8Array, start: number, end: number) => parseRequestHead(buf, start, end);
const parseResuming = (buf: Uint8Array, start: number, end: number, scan: HeadScan) =>
  parseRequestHead(buf, start, end, DEFAULT_LIMITS, scan);

const GET = head("GET / HTTP/1.1", "Host: example.com");

// ---------------------------------------------------------------- acceptances

export const ACCEPT: Array<[name: string, raw: string, want: Partial<RequestHead>]> = [
  ["simple GET", GET, {
    method: "GET",
    target: "/",
    targetForm: "origin",
    version: "HTTP/1.1",
    headers: [["Host", "example.com"]],
    host: "example.com",
    framing: { kind: "none" },
    keepAlive: true,
    upgrade: undefined,
    expectContinue: false,
    connectionTokens: [],
  }],
  ["names keep case and order, values lose OWS", head("GET /a HTTP/1.1", "host:example.com", "X-A:  v w  ", "x-b:\t1\t", "X-Empty:", "X-Url: http://a:b/c"), {
    headers: [["host", "example.com"], ["X-A", "v w"], ["x-b", "1"], ["X-Empty", ""], ["X-Url", "http://a:b/c"]],
    host: "example.com",
  }],
  ["every tchar in a field name", head("GET / HTTP/1.1", "Host: a", "!#$%&'*+-.^_`|~09AZaz: x"), {
    headers: [["Host", "a"], ["!#$%&'*+-.^_`|~09AZaz", "x"]],
  }],
  ["obs-text in a value is kept byte for byte (latin1)", head("GET / HTTP/1.1", "Host: a", "X-Name: caf\u00e9 \u00ff"), {
    headers: [["Host", "a"], ["X-Name", "caf\u00e9 \u00ff"]],
  }],
  ["other methods, any case (methods are tokens)", head("PURGE /x HTTP/1.1", "Host: a"), { method: "PURGE" }],
  ["lowercase method kept as sent", head("get / HTTP/1.1", "Host: a"), { method: "get" }],
  ["target with query and unusual visible characters", head("GET /a%20b|c{d}?x=[1]&y='z' HTTP/1.1", "Host: a"), {
    target: "/a%20b|c{d}?x=[1]&y='z'",
  }],
  ["Content-Length", head("POST /u HTTP/1.1", "Host: a", "Content-Length: 5"), { framing: { kind: "length", length: 5 } }],
  ["Content-Length: 0", head("POST /u HTTP/1.1", "Host: a", "Content-Length: 0"), { framing: { kind: "length", length: 0 } }],
  ["Content-Length with leading zeros", head("POST / HTTP/1.1", "Host: a", "Content-Length: 007"), { framing: { kind: "length", length: 7 } }],
  ["Content-Length 2^53-1", head("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740991"), {
    framing: { kind: "length", length: Number.MAX_SAFE_INTEGER },
  }],
  ["identical duplicate Content-Length lines", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 5"), {
    framing: { kind: "length", length: 5 },
  }],
  ["Content-Length list of identical values", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5,5"), {
    framing: { kind: "length", length: 5 },
  }],
  ["Transfer-Encoding: chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"), { framing: { kind: "chunked" } }],
  ["Transfer-Encoding: CHUNKED (case-insensitive)", head("POST / HTTP/1.1", "Host: a", "transfer-encoding: CHUNKED"), {
    framing: { kind: "chunked" },
  }],
  ["Transfer-Encoding with an empty list element (RFC 9110 §5.6.1)", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: , chunked"), {
    framing: { kind: "chunked" },
  }],
  ["HTTP/1.0 without Host", head("GET / HTTP/1.0"), { version: "HTTP/1.0", host: undefined, keepAlive: false }],
  ["HTTP/1.0 with Connection: keep-alive", head("GET / HTTP/1.0", "Connection: Keep-Alive"), {
    keepAlive: true,
    connectionTokens: ["keep-alive"],
  }],
  ["HTTP/1.0 with Host and Content-Length", head("POST / HTTP/1.0", "Host: a", "Content-Length: 3"), {
    host: "a",
    framing: { kind: "length", length: 3 },
  }],
  ["HTTP/1.1 Connection: close", head("GET / HTTP/1.1", "Host: a", "Connection: close"), { keepAlive: false, connectionTokens: ["close"] }],
  ["Connection options over lines, lowercased, empty elements skipped", head("GET / HTTP/1.1", "Host: a", "Connection: X-Foo, , Keep-Alive", "Connection: CLOSE"), {
    keepAlive: false,
    connectionTokens: ["x-foo", "keep-alive", "close"],
  }],
  ["Upgrade with Connection: upgrade", head("GET /ws HTTP/1.1", "Host: a", "Connection: keep-alive, Upgrade", "Upgrade: websocket"), {
    upgrade: "websocket",
    keepAlive: true,
  }],
  ["Upgrade without the connection option is ignored", head("GET / HTTP/1.1", "Host: a", "Upgrade: websocket"), { upgrade: undefined }],
  ["Upgrade in HTTP/1.0 is ignored (RFC 9110 §7.8)", head("GET / HTTP/1.0", "Connection: upgrade", "Upgrade: websocket"), { upgrade: undefined }],
  ["Expect: 100-continue", head("PUT / HTTP/1.1", "Host: a", "Expect: 100-Continue", "Content-Length: 1"), { expectContinue: true }],
  ["Expect: 100-continue in HTTP/1.0 is ignored (RFC 9110 §10.1.1)", head("PUT / HTTP/1.0", "Expect: 100-continue"), { expectContinue: false }],
  ["other expectations are forwarded, not answered", head("PUT / HTTP/1.1", "Host: a", "Expect: something"), { expectContinue: false }],
  ["CONNECT authority-form", head("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"), {
    targetForm: "authority",
    target: "example.com:443",
  }],
  ["CONNECT to an IPv6 literal", head("CONNECT [::1]:8080 HTTP/1.1", "Host: [::1]:8080"), { targetForm: "authority" }],
  ["OPTIONS *", head("OPTIONS * HTTP/1.1", "Host: a"), { targetForm: "asterisk", target: "*" }],
  ["absolute-form matching Host", head("GET http://example.com/x?y HTTP/1.1", "Host: example.com"), {
    targetForm: "absolute",
    target: "http://example.com/x?y",
    host: "example.com",
  }],
  ["absolute-form: default port and case do not matter", head("GET HTTPS://Example.COM HTTP/1.1", "Host: example.com:443"), {
    targetForm: "absolute",
  }],
  ["absolute-form in HTTP/1.0 without Host: host from the target", head("GET http://example.com:8080/ HTTP/1.0"), {
    host: "example.com:8080",
  }],
  ["empty lines before the request line are skipped (RFC 9112 §2.2)", "\r\n\r\n" + GET, { method: "GET" }],
  ["Host with port", head("GET / HTTP/1.1", "Host: example.com:8080"), { host: "example.com:8080" }],
  ["Host IPv6 literal", head("GET / HTTP/1.1", "Host: [2001:db8::1]:80"), { host: "[2001:db8::1]:80" }],
  ["empty Host (RFC 9112 §3.2)", head("GET / HTTP/1.1", "Host:"), { host: "" }],
  ["100 header fields", head("GET / HTTP/1.1", "Host: a", ...Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}`)), {
    host: "a",
  }],
];

for (const [name, raw, want] of ACCEPT) {
  test(`request accepts: ${name}`, () => {
    const got = parseOk(raw);
    for (const [key, value] of Object.entries(want)) {
      assert.deepEqual(got[key as keyof RequestHead], value, key);
    }
  });
}

for (const [name, raw] of ACCEPT) {
  test(`request incremental: every prefix of "${name}" is incomplete`, () => {
    assert.deepEqual([...prefixKinds(raw, parseBytes)], ["incomplete"]);
  });
}

for (const [name, raw] of ACCEPT) {
  test(`request resumed byte by byte: "${name}" gives the one-shot result and resets the scan`, () => {
    const { results, scan } = feed(raw, parseResuming);
    assert.equal(results.length, raw.length);
    assert.ok(results.slice(0, -1).every((r) => r.kind === "incomplete"));
    assert.deepEqual(results.at(-1), parse(raw));
    assert.ok(isReset(scan));
  });
}

// ----------------------------------------------------------------- rejections

export const REJECT: Array<[name: string, raw: string, status: number]> = [
  // request line
  ["leading space before the method", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["double space after the method", head("GET  / HTTP/1.1", "Host: a"), 400],
  ["double space before the version", head("GET /  HTTP/1.1", "Host: a"), 400],
  ["space after the version", head("GET / HTTP/1.1 ", "Host: a"), 400],
  ["tab as a separator", head("GET\t/ HTTP/1.1", "Host: a"), 400],
  ["HTTP/0.9 request line (no version)", "GET /\r\n\r\n", 400],
  ["method only", "GET\r\n\r\n", 400],
  ["lowercase http/1.1", head("GET / http/1.1", "Host: a"), 400],
  ["HTTP/1.10", head("GET / HTTP/1.10", "Host: a"), 400],
  ["HTTP/11.1", head("GET / HTTP/11.1", "Host: a"), 400],
  ["HTTP/1", head("GET / HTTP/1", "Host: a"), 400],
  ["HTTP/1.x", head("GET / HTTP/1.x", "Host: a"), 400],
  ["HTTP/2.0", head("GET / HTTP/2.0", "Host: a"), 505],
  ["HTTP/0.9 version", head("GET / HTTP/0.9", "Host: a"), 505],
  ["HTTP/1.2", head("GET / HTTP/1.2", "Host: a"), 505],
  ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505],
  ["@ in the method", head("GE@T / HTTP/1.1", "Host: a"), 400],
  ["NUL in the method", head("GET\0 / HTTP/1.1", "Host: a"), 400],
  ["control byte in the target", head("GET /\x01 HTTP/1.1", "Host: a"), 400],
  ["DEL in the target", head("GET /\x7f HTTP/1.1", "Host: a"), 400],
  ["non-ASCII byte in the target", head("GET /caf\u00e9 HTTP/1.1", "Host: a"), 400],
  ["fragment in the target", head("GET /a#b HTTP/1.1", "Host: a"), 400],
  ["target that is no form", head("GET example.com HTTP/1.1", "Host: a"), 400],
  ["* outside OPTIONS", head("GET * HTTP/1.1", "Host: a"), 400],
  ["CONNECT with origin-form", head("CONNECT / HTTP/1.1", "Host: a"), 400],
  ["CONNECT without a port", head("CONNECT example.com HTTP/1.1", "Host: a"), 400],
  ["CONNECT with absolute-form", head("CONNECT http://a:1/ HTTP/1.1", "Host: a"), 400],
  ["CONNECT with userinfo", head("CONNECT u@a:1 HTTP/1.1", "Host: a"), 400],
  ["authority-form outside CONNECT", head("GET a:80 HTTP/1.1", "Host: a"), 400],
  ["absolute-form with userinfo", head("GET http://user@a/ HTTP/1.1", "Host: a"), 400],
  ["absolute-form with another scheme", head("GET ftp://a/ HTTP/1.1", "Host: a"), 400],
  ["absolute-form with an empty authority", head("GET http:///x HTTP/1.1", "Host: a"), 400],
  ["absolute-form with a port only", head("GET http://:80/x HTTP/1.1", "Host: a"), 400],
  ["absolute-form not matching Host", head("GET http://evil.example/ HTTP/1.1", "Host: good.example"), 400],
  ["absolute-form port not matching Host", head("GET http://a:8080/ HTTP/1.1", "Host: a"), 400],
  // line endings
  ["bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
  ["LF-only head", "GET / HTTP/1.1\nHost: a\n\n", 400],
  ["LF-only terminator", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400],
  ["LF then CRLF terminator", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400],
  ["bare CR ending a line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400],
  ["bare CR in the final empty line", "GET / HTTP/1.1\r\nHost: a\r\n\rX", 400],
  ["bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["bare CR before the request line", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  // field names
  ["space before the colon", head("GET / HTTP/1.1", "Host : a"), 400],
  ["tab before the colon", head("GET / HTTP/1.1", "Host\t: a"), 400],
  ["space before the colon of Transfer-Encoding", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding : chunked"), 400],
  ["@ in a field name", head("GET / HTTP/1.1", "Host: a", "X-F@o: 1"), 400],
  ["space inside a field name", head("GET / HTTP/1.1", "Host: a", "X Foo: 1"), 400],
  ["non-ASCII in a field name", head("GET / HTTP/1.1", "Host: a", "X-F\u00f6o: 1"), 400],
  ["empty field name", head("GET / HTTP/1.1", "Host: a", ": 1"), 400],
  ["field line without a colon", head("GET / HTTP/1.1", "Host: a", "X-Foo"), 400],
  // obs-fold and whitespace lines
  ["obs-fold with a space", head("GET / HTTP/1.1", "Host: a", "X-A: b", " c"), 400],
  ["obs-fold with a tab", head("GET / HTTP/1.1", "Host: a", "X-A: b", "\tc"), 400],
  ["folded Transfer-Encoding value", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:", " chunked"), 400],
  [" Transfer-Encoding as the first field line", head("POST / HTTP/1.1", " Transfer-Encoding: chunked", "Host: a"), 400],
  // field values
  ["NUL in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\0c"), 400],
  ["control byte in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\x01"), 400],
  ["vertical tab before chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \x0bchunked"), 400],
  ["DEL in a value", head("GET / HTTP/1.1", "Host: a", "X-A: \x7f"), 400],
  ["bare CR in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\rc"), 400],
  ["bare LF in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\nc"), 400],
  // Host
  ["missing Host in HTTP/1.1", head("GET / HTTP/1.1"), 400],
  ["two Hosts", head("GET / HTTP/1.1", "Host: a", "Host: a"), 400],
  ["two Hosts in HTTP/1.0", head("GET / HTTP/1.0", "Host: a", "host: b"), 400],
  ["Host with a space", head("GET / HTTP/1.1", "Host: a b"), 400],
  ["Host with a slash", head("GET / HTTP/1.1", "Host: a/b"), 400],
  ["Host with userinfo", head("GET / HTTP/1.1", "Host: u@a"), 400],
  ["Host with a non-numeric port", head("GET / HTTP/1.1", "Host: a:b"), 400],
  ["Host list", head("GET / HTTP/1.1", "Host: a, b"), 400],
  // Content-Length
  ["Content-Length: +5", head("POST / HTTP/1.1", "Host: a", "Content-Length: +5"), 400],
  ["Content-Length: -1", head("POST / HTTP/1.1", "Host: a", "Content-Length: -1"), 400],
  ["Content-Length: 0x10", head("POST / HTTP/1.1", "Host: a", "Content-Length: 0x10"), 400],
  ["Content-Length: 1 2", head("POST / HTTP/1.1", "Host: a", "Content-Length: 1 2"), 400],
  ["Content-Length: 1e3", head("POST / HTTP/1.1", "Host: a", "Content-Length: 1e3"), 400],
  ["Content-Length: 5.0", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5.0"), 400],
  ["empty Content-Length", head("POST / HTTP/1.1", "Host: a", "Content-Length:"), 400],
  ["Content-Length of spaces", head("POST / HTTP/1.1", "Host: a", "Content-Length:   "), 400],
  ["Content-Length with a trailing comma", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5,"), 400],
  ["Content-Length with a leading comma", head("POST / HTTP/1.1", "Host: a", "Content-Length: ,5"), 400],
  ["Content-Length 2^53", head("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740992"), 400],
  ["Content-Length with a trailing NBSP (obs-text is not OWS)", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5\u00a0"), 400],
  ["Transfer-Encoding chunked with a trailing NBSP", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked\u00a0"), 400],
  ["huge Content-Length", head("POST / HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999999999"), 400],
  ["differing Content-Length lines", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"), 400],
  ["differing Content-Length list", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6"), 400],
  ["Content-Length 5 and 05 (not identical)", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 05"), 400],
  // Transfer-Encoding
  ["Content-Length and Transfer-Encoding", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"), 400],
  ["Transfer-Encoding and Content-Length", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 0"), 400],
  ["Transfer-Encoding: chunked, identity", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, identity"), 400],
  ["Transfer-Encoding: xchunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: xchunked"), 400],
  ["Transfer-Encoding: chunked;q=1", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked;q=1"), 400],
  ["Transfer-Encoding: \"chunked\"", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \"chunked\""), 400],
  ["Transfer-Encoding: identity", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: identity"), 400],
  ["Transfer-Encoding: gzip", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), 400],
  ["Transfer-Encoding: chunked, chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"), 400],
  ["Transfer-Encoding chunked on two lines", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 400],
  ["Transfer-Encoding chunked then gzip on two lines", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"), 400],
  ["empty Transfer-Encoding", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:"), 400],
  ["Transfer-Encoding: gzip, chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"), 501],
  ["Transfer-Encoding: deflate on a line before chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: deflate", "Transfer-Encoding: chunked"), 501],
  ["Transfer-Encoding in HTTP/1.0", head("POST / HTTP/1.0", "Transfer-Encoding: chunked"), 400],
  // Connection
  ["Connection option that is not a token", head("GET / HTTP/1.1", "Host: a", "Connection: a b"), 400],
  ["Connection option with a slash", head("GET / HTTP/1.1", "Host: a", "Connection: upgrade/1"), 400],
];

for (const [name, raw, status] of REJECT) {
  test(`request rejects: ${name} → ${status}`, () => {
    const r = parse(raw);
    assert.equal(r.kind, "error", `expected an error, got ${JSON.stringify(r)}`);
    if (r.kind === "error") {
      assert.equal(r.status, status, r.reason);
      assert.ok(r.reason.length > 0);
    }
  });
}

test("request rejects: no prefix of a rejected head is ok", () => {
  for (const [name, raw] of REJECT) {
    assert.ok(!prefixKinds(raw, parseBytes).has("ok"), name);
  }
});

test("request resumed byte by byte: every rejection gives the one-shot status and resets the scan", () => {
  for (const [name, raw, status] of REJECT) {
    const { results, scan } = feed(raw, parseResuming);
    const last = results.at(-1)!;
    assert.equal(last.kind === "error" && last.status, status, name);
    assert.ok(isReset(scan), name);
  }
});

export const EARLY: Array<[name: string, raw: string, status: number]> = [
  ["bare LF in the request line", "GET / HTTP/1.1\n", 400],
  ["bad byte in the method", "G@", 400],
  ["fragment in the target", "GET /#", 400],
  ["lowercase version", "GET / http", 400],
  ["unsupported version, once its line ends", "GET / HTTP/2.0\r\n", 505],
  ["space before a colon", "GET / HTTP/1.1\r\nHost :", 400],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \0", 400],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n ", 400],
];

for (const [name, raw, status] of EARLY) {
  test(`request rejects as soon as the bytes show it: ${name}`, () => {
    const r = parse(raw);
    assert.equal(r.kind, "error");
    assert.equal(r.kind === "error" && r.status, status);
  });
}

// --------------------------------------------------------------------- limits

const SMALL: HeadLimits = { maxHeadBytes: 128, maxHeaders: 4, maxTargetBytes: 32 };

test("limits: defaults are 16 KiB, 100 fields, 8 KiB target", () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, { maxHeadBytes: 16384, maxHeaders: 100, maxTargetBytes: 8192 });
});

test("limits: 101 header fields → 431", () => {
  const raw = head("GET / HTTP/1.1", "Host: a", ...Array.from({ length: 100 }, (_, i) => `X-${i}: ${i}`));
  const r = parse(raw);
  assert.equal(r.kind === "error" && r.status, 431);
});

test("limits: maxHeaders counts field lines, the 5th of 4 → 431 before the head ends", () => {
  const four = head("GET / HTTP/1.1", "Host: a", "A: 1", "B: 2", "C: 3");
  assert.equal(parse(four, SMALL).kind, "ok");
  const r = parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD", SMALL);
  assert.equal(r.kind === "error" && r.status, 431);
});

test("limits: a head of exactly maxHeadBytes is ok, one byte more → 431", () => {
  const base = head("GET / HTTP/1.1", "Host: a", "X: ");
  const exact = head("GET / HTTP/1.1", "Host: a", `X: ${"v".repeat(16384 - base.length)}`);
  assert.equal(exact.length, 16384);
  assert.equal(parseOk(exact).headers[1][1].length, 16384 - base.length);
  const over = head("GET / HTTP/1.1", "Host: a", `X: ${"v".repeat(16385 - base.length)}`);
  const r = parse(over);
  assert.equal(r.kind === "error" && r.status, 431);
});

test("limits: an unfinished head reaching maxHeadBytes → 431, short of it → incomplete", () => {
  const start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  assert.equal(parse(start + "v".repeat(16384 - start.length - 1)).kind, "incomplete");
  const r = parse(start + "v".repeat(16384 - start.length));
  assert.equal(r.kind === "error" && r.status, 431);
});

test("limits: a target of exactly maxTargetBytes is ok, one byte more → 414", () => {
  const target = `/${"a".repeat(8191)}`;
  assert.equal(parseOk(head(`GET ${target} HTTP/1.1`, "Host: a")).target, target);
  const r = parse(head(`GET ${target}b HTTP/1.1`, "Host: a"));
  assert.equal(r.kind === "error" && r.status, 414);
});

test("limits: 414 as soon as the target is too long, before the line ends", () => {
  const r = parse(`GET /${"a".repeat(32)}`, SMALL);
  assert.equal(r.kind === "error" && r.status, 414);
  assert.equal(parse(`GET /${"a".repeat(31)}`, SMALL).kind, "incomplete");
});

test("limits: small custom limits apply to the head size", () => {
  const r = parse(head("GET / HTTP/1.1", "Host: a", `X: ${"v".repeat(120)}`), SMALL);
  assert.equal(r.kind === "error" && r.status, 431);
});

test("limits: resumed feeding meets the same 431 and 414", () => {
  const long = `GET / HTTP/1.1\r\nHost: a\r\nX: ${"v".repeat(16384)}`;
  const r431 = feed(long, parseResuming).results.at(-1)!;
  assert.equal(r431.kind === "error" && r431.status, 431);
  const r414 = feed(`GET /${"a".repeat(8192)} HTTP/1.1\r\n`, parseResuming).results.at(-1)!;
  assert.equal(r414.kind === "error" && r414.status, 414);
});

// -------------------------------------------------------------------- offsets

test("offsets: parses at start > 0 and stops at the head's end (pipelining, body bytes)", () => {
  const first = head("POST /1 HTTP/1.1", "Host: a", "Content-Length: 5");
  const second = head("GET /2 HTTP/1.1", "Host: a");
  const buf = encodeLatin1(first + "hello" + second);
  const r1 = parseRequestHead(buf, 0, buf.length);
  assert.equal(r1.kind === "ok" && r1.length, first.length);
  const at = first.length + 5;
  const r2 = parseRequestHead(buf, at, buf.length);
  assert.equal(r2.kind === "ok" && r2.head.target, "/2");
  assert.equal(r2.kind === "ok" && r2.length, second.length);
});

test("offsets: a resumed scan survives the bytes moving with start (buffer compaction)", () => {
  const raw = head("POST /x HTTP/1.1", "Host: a", "Content-Length: 3", "X-Long: abcdef");
  const scan = new HeadScan();
  const first = encodeLatin1(`JUNK${raw}`);
  assert.equal(parseRequestHead(first, 4, 4 + 30, DEFAULT_LIMITS, scan).kind, "incomplete");
  assert.ok(!isReset(scan));
  const moved = encodeLatin1(raw);
  const r = parseRequestHead(moved, 0, moved.length, DEFAULT_LIMITS, scan);
  assert.equal(r.kind === "ok" && r.length, raw.length);
  assert.ok(isReset(scan));
});

test("offsets: one scan serves pipelined requests one after the other", () => {
  const a = head("GET /a HTTP/1.1", "Host: a");
  const b = head("GET /b HTTP/1.1", "Host: b");
  const bytes = encodeLatin1(a + b);
  const scan = new HeadScan();
  assert.equal(parseRequestHead(bytes, 0, 10, DEFAULT_LIMITS, scan).kind, "incomplete");
  const ra = parseRequestHead(bytes, 0, bytes.length, DEFAULT_LIMITS, scan);
  assert.equal(ra.kind === "ok" && ra.head.target, "/a");
  const rb = parseRequestHead(bytes, a.length, bytes.length, DEFAULT_LIMITS, scan);
  assert.equal(rb.kind === "ok" && rb.head.target, "/b");
});

test("offsets: an empty range is incomplete", () => {
  const { buf, start } = framed(GET);
  assert.equal(parseRequestHead(buf, start, start).kind, "incomplete");
});

// ----------------------------------------------------------------- properties

const tokenArb = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const valueArb = fc.stringMatching(/^([\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,20}[\x21-\x7e\x80-\xff])?)?$/);
const pathArb = fc.stringMatching(/^\/[\x21-\x22\x24-\x7e]{0,40}$/);
const RESERVED = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "expect"]);
const fieldArb = fc.tuple(tokenArb.filter((n) => !RESERVED.has(n.toLowerCase())), valueArb);

const requestArb = fc.record({
  method: tokenArb,
  target: pathArb,
  fields: fc.array(fieldArb, { maxLength: 20 }),
  length: fc.option(fc.nat(), { nil: undefined }),
});

type GeneratedRequest = { method: string; target: string; fields: Array<[string, string]>; length: number | undefined };

function render(g: GeneratedRequest): string {
  const extra = g.length === undefined ? [] : [`Content-Length: ${g.length}`];
  return head(`${g.method} ${g.target} HTTP/1.1`, "Host: example.com", ...g.fields.map(([n, v]) => `${n}: ${v}`), ...extra);
}

test("property: generated valid requests parse back to their parts", () => {
  fc.assert(
    fc.property(requestArb, (g) => {
      const h = parseOk(render(g));
      assert.equal(h.method, g.method);
      assert.equal(h.target, g.target);
      assert.deepEqual(h.headers.slice(1, 1 + g.fields.length), g.fields);
      assert.deepEqual(h.framing, g.length === undefined ? { kind: "none" } : { kind: "length", length: g.length });
    }),
    { numRuns: 300 },
  );
});

test("property: a valid request cut anywhere is incomplete", () => {
  fc.assert(
    fc.property(requestArb, fc.nat(), (g, n) => {
      const raw = render(g);
      const { buf, start } = framed(raw);
      assert.equal(parseRequestHead(buf, start, start + (n % raw.length)).kind, "incomplete");
    }),
    { numRuns: 500 },
  );
});

test("property: a valid request fed in random pieces with one scan parses as in one piece", () => {
  fc.assert(
    fc.property(requestArb, fc.array(fc.nat(), { maxLength: 12 }), (g, cutSeeds) => {
      const raw = render(g);
      const cuts = [...new Set(cutSeeds.map((c) => c % raw.length))].sort((x, y) => x - y);
      const { results } = feed(raw, parseResuming, cuts);
      assert.deepEqual(results.at(-1), parse(raw));
      assert.equal(results.length, cuts.length + 1);
    }),
    { numRuns: 300 },
  );
});

test("property: arbitrary bytes fed in pieces with one scan never throw, and agree with a one-shot parse", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cutSeeds) => {
      const text = String.fromCharCode(...bytes);
      const cuts = [...new Set(cutSeeds.map((c) => c % Math.max(1, text.length)))].sort((x, y) => x - y);
      const last = feed(text, parseResuming, cuts).results.at(-1)!;
      const once = parse(text);
      assert.equal(last.kind === "incomplete" ? "incomplete" : JSON.stringify(last), once.kind === "incomplete" ? "incomplete" : JSON.stringify(once));
    }),
    { numRuns: 1000 },
  );
});

test("property: arbitrary bytes never throw and never claim more than they have", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = parseRequestHead(bytes, 0, bytes.length);
      assert.ok(["ok", "error", "incomplete"].includes(r.kind));
      if (r.kind === "ok") assert.ok(r.length <= bytes.length);
    }),
    { numRuns: 1000 },
  );
});

test("property: one changed byte in a valid request never throws, and ok stays within the bytes", () => {
  fc.assert(
    fc.property(requestArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (g, at, byte) => {
      const bytes = encodeLatin1(render(g));
      bytes[at % bytes.length] = byte;
      const r = parseRequestHead(bytes, 0, bytes.length);
      if (r.kind === "ok") assert.ok(r.length <= bytes.length);
    }),
    { numRuns: 1000 },
  );
});
