/**
 * Table tests of the response head parser: framing by method and status,
 * keep-alive, upgrades and tunnels, every rejection (all 502), incremental
 * feeding, limits, and properties.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseResponseHead, type ResponseHead } from "./response.ts";
import { DEFAULT_LIMITS, type HeadLimits, type HeadScan } from "./head.ts";
import { encodeLatin1 } from "./chars.ts";
import { feed, framed, head, isReset, prefixKinds } from "./_testing.ts";

function parse(text: string, method = "GET", limits: HeadLimits = DEFAULT_LIMITS) {
  const { buf, start, end } = framed(text);
  return parseResponseHead(buf, start, end, limits, method);
}

function parseOk(text: string, method = "GET"): ResponseHead {
  const r = parse(text, method);
  assert.equal(r.kind, "ok", `expected ok, got ${JSON.stringify(r)}`);
  if (r.kind !== "ok") throw new Error("unreachable");
  assert.equal(r.length, text.length, "length is the whole head");
  return r.head;
}

// ---------------------------------------------------------------- acceptances

export const ACCEPT: Array<[name: string, raw: string, method: string, want: Partial<ResponseHead>]> = [
  ["200 with Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Type: text/plain"), "GET", {
    version: "HTTP/1.1",
    status: 200,
    reason: "OK",
    headers: [["Content-Length", "5"], ["Content-Type", "text/plain"]],
    framing: { kind: "length", length: 5 },
    contentLength: 5,
    keepAlive: true,
    upgrade: undefined,
    tunnel: false,
    connectionTokens: [],
  }],
  ["empty reason after the SP", head("HTTP/1.1 200 ", "Content-Length: 0"), "GET", { reason: "" }],
  ["no SP and no reason (tolerated)", head("HTTP/1.1 200", "Content-Length: 0"), "GET", { reason: "", status: 200 }],
  ["reason with spaces, tabs and obs-text", head("HTTP/1.1 404 Not  Found\t\u00e9", "Content-Length: 0"), "GET", {
    reason: "Not  Found\t\u00e9",
  }],
  ["chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", { framing: { kind: "chunked" }, keepAlive: true }],
  ["no length: read until close", head("HTTP/1.1 200 OK", "Content-Type: text/html"), "GET", {
    framing: { kind: "close" },
    keepAlive: false,
  }],
  ["HTTP/1.0 with Content-Length: not kept alive", head("HTTP/1.0 200 OK", "Content-Length: 2"), "GET", {
    version: "HTTP/1.0",
    framing: { kind: "length", length: 2 },
    keepAlive: false,
  }],
  ["HTTP/1.0 with keep-alive and Content-Length", head("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 2"), "GET", {
    keepAlive: true,
  }],
  ["HTTP/1.0 without length: close", head("HTTP/1.0 200 OK", "Connection: keep-alive"), "GET", {
    framing: { kind: "close" },
    keepAlive: false,
  }],
  ["Connection: close", head("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 2"), "GET", {
    keepAlive: false,
    connectionTokens: ["close"],
  }],
  ["identical duplicate Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 3", "Content-Length: 3"), "GET", {
    framing: { kind: "length", length: 3 },
  }],
  ["HEAD: no body whatever Content-Length says", head("HTTP/1.1 200 OK", "Content-Length: 1000"), "HEAD", {
    framing: { kind: "none" },
    contentLength: 1000,
    keepAlive: true,
  }],
  ["HEAD: no body with chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "HEAD", { framing: { kind: "none" } }],
  ["HEAD: no body without a length (not close)", head("HTTP/1.1 200 OK"), "HEAD", { framing: { kind: "none" }, keepAlive: true }],
  ["204: no body", head("HTTP/1.1 204 No Content", "Content-Length: 10"), "GET", { framing: { kind: "none" }, keepAlive: true }],
  ["204 with chunked: no body", head("HTTP/1.1 204 No Content", "Transfer-Encoding: chunked"), "DELETE", { framing: { kind: "none" } }],
  ["304: no body, length kept", head("HTTP/1.1 304 Not Modified", "Content-Length: 42", "ETag: \"x\""), "GET", {
    framing: { kind: "none" },
    contentLength: 42,
  }],
  ["100 Continue", head("HTTP/1.1 100 Continue"), "PUT", { status: 100, framing: { kind: "none" }, tunnel: false }],
  ["103 Early Hints", head("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload"), "GET", { framing: { kind: "none" } }],
  ["101 Switching Protocols", head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"), "GET", {
    status: 101,
    upgrade: "websocket",
    tunnel: true,
    framing: { kind: "none" },
    keepAlive: false,
  }],
  ["101 with Upgrade but without the connection option", head("HTTP/1.1 101 Switching Protocols", "Upgrade: h2c"), "GET", {
    upgrade: "h2c",
    tunnel: true,
  }],
  ["CONNECT 200: a tunnel; framing fields ignored (RFC 9112 §6.3)", head("HTTP/1.1 200 Connection established", "Content-Length: nonsense", "Transfer-Encoding: gzip"), "CONNECT", {
    tunnel: true,
    framing: { kind: "none" },
    contentLength: undefined,
    keepAlive: false,
  }],
  ["CONNECT 407: not a tunnel", head("HTTP/1.1 407 Proxy Authentication Required", "Content-Length: 3"), "CONNECT", {
    tunnel: false,
    framing: { kind: "length", length: 3 },
  }],
  ["426 keeps its Upgrade offer", head("HTTP/1.1 426 Upgrade Required", "Upgrade: TLS/1.2", "Connection: Upgrade", "Content-Length: 0"), "GET", {
    upgrade: "TLS/1.2",
    tunnel: false,
    keepAlive: true,
  }],
  ["Upgrade in a 200 without the connection option is ignored", head("HTTP/1.1 200 OK", "Upgrade: h2c", "Content-Length: 0"), "GET", {
    upgrade: undefined,
  }],
  ["status 599", head("HTTP/1.1 599 Whatever", "Content-Length: 0"), "GET", { status: 599 }],
];

for (const [name, raw, method, want] of ACCEPT) {
  test(`response accepts: ${name}`, () => {
    const got = parseOk(raw, method);
    for (const [key, value] of Object.entries(want)) {
      assert.deepEqual(got[key as keyof ResponseHead], value, key);
    }
  });
}

for (const [name, raw, method] of ACCEPT) {
  test(`response incremental: every prefix of "${name}" is incomplete`, () => {
    const kinds = prefixKinds(raw, (buf, start, end) => parseResponseHead(buf, start, end, DEFAULT_LIMITS, method));
    assert.deepEqual([...kinds], ["incomplete"]);
  });
}

const resuming = (method: string) => (buf: Uint8Array, start: number, end: number, scan: HeadScan) =>
  parseResponseHead(buf, start, end, DEFAULT_LIMITS, method, scan);

for (const [name, raw, method] of ACCEPT) {
  test(`response resumed byte by byte: "${name}" gives the one-shot result and resets the scan`, () => {
    const { results, scan } = feed(raw, resuming(method));
    assert.equal(results.length, raw.length);
    assert.ok(results.slice(0, -1).every((r) => r.kind === "incomplete"));
    assert.deepEqual(results.at(-1), parse(raw, method));
    assert.ok(isReset(scan));
  });
}

// ----------------------------------------------------------------- rejections

export const REJECT: Array<[name: string, raw: string]> = [
  ["Content-Length and Transfer-Encoding", head("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked")],
  ["Transfer-Encoding: gzip (only chunked accepted)", head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip")],
  ["Transfer-Encoding: gzip, chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked")],
  ["Transfer-Encoding: chunked, identity", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, identity")],
  ["Transfer-Encoding: xchunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: xchunked")],
  ["Transfer-Encoding in HTTP/1.0", head("HTTP/1.0 200 OK", "Transfer-Encoding: chunked")],
  ["CL+TE on a HEAD response", head("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked")],
  ["Content-Length: +5", head("HTTP/1.1 200 OK", "Content-Length: +5")],
  ["Content-Length: -1", head("HTTP/1.1 200 OK", "Content-Length: -1")],
  ["Content-Length: 0x10", head("HTTP/1.1 200 OK", "Content-Length: 0x10")],
  ["Content-Length: 1 2", head("HTTP/1.1 200 OK", "Content-Length: 1 2")],
  ["differing Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 1", "Content-Length: 2")],
  ["huge Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 123456789012345678901234567890")],
  ["bad Content-Length on a 304", head("HTTP/1.1 304 Not Modified", "Content-Length: x")],
  ["two-digit status", head("HTTP/1.1 20 OK", "Content-Length: 0")],
  ["four-digit status", head("HTTP/1.1 2000 OK", "Content-Length: 0")],
  ["status with a letter", head("HTTP/1.1 2x0 OK", "Content-Length: 0")],
  ["status below 100", head("HTTP/1.1 099 Odd", "Content-Length: 0")],
  ["status above 599", head("HTTP/1.1 600 Odd", "Content-Length: 0")],
  ["double space before the status", head("HTTP/1.1  200 OK", "Content-Length: 0")],
  ["lowercase http/1.1", head("http/1.1 200 OK", "Content-Length: 0")],
  ["HTTP/2", head("HTTP/2 200 OK", "Content-Length: 0")],
  ["HTTP/2.0", head("HTTP/2.0 200 OK", "Content-Length: 0")],
  ["HTTP/1.2", head("HTTP/1.2 200 OK", "Content-Length: 0")],
  ["no status line (HTTP/0.9 body)", "<html>hello</html>\r\n\r\n"],
  ["empty lines before the status line", "\r\n" + head("HTTP/1.1 200 OK", "Content-Length: 0")],
  ["control byte in the reason", head("HTTP/1.1 200 O\x01K", "Content-Length: 0")],
  ["bare LF after the status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"],
  ["LF-only terminator", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"],
  ["bare CR in the status line", "HTTP/1.1 200 OK\rX: 1\r\n\r\n"],
  ["space before a colon", head("HTTP/1.1 200 OK", "Content-Length : 0")],
  ["@ in a field name", head("HTTP/1.1 200 OK", "X-A@: 1", "Content-Length: 0")],
  ["NUL in a value", head("HTTP/1.1 200 OK", "X-A: \0", "Content-Length: 0")],
  ["obs-fold", head("HTTP/1.1 200 OK", "X-A: 1", " 2", "Content-Length: 0")],
  ["101 without Upgrade", head("HTTP/1.1 101 Switching Protocols", "Connection: upgrade")],
  ["101 in HTTP/1.0", head("HTTP/1.0 101 Switching Protocols", "Upgrade: websocket", "Connection: upgrade")],
  ["Connection option that is not a token", head("HTTP/1.1 200 OK", "Connection: a b", "Content-Length: 0")],
];

for (const [name, raw] of REJECT) {
  test(`response rejects with 502: ${name}`, () => {
    const r = parse(raw, name.includes("HEAD") ? "HEAD" : "GET");
    assert.equal(r.kind, "error", `expected an error, got ${JSON.stringify(r)}`);
    if (r.kind === "error") {
      assert.equal(r.status, 502);
      assert.match(r.reason, /^bad upstream response: ./);
    }
  });
}

test("response rejects: no prefix of a rejected head is ok", () => {
  for (const [name, raw] of REJECT) {
    const kinds = prefixKinds(raw, (buf, start, end) => parseResponseHead(buf, start, end, DEFAULT_LIMITS, "GET"));
    assert.ok(!kinds.has("ok"), name);
  }
});

test("response resumed byte by byte: every rejection is a 502 and resets the scan", () => {
  for (const [name, raw] of REJECT) {
    const method = name.includes("HEAD") ? "HEAD" : "GET";
    const { results, scan } = feed(raw, resuming(method));
    assert.deepEqual(results.at(-1), parse(raw, method), name);
    assert.ok(isReset(scan), name);
  }
});

test("property: responses fed in random pieces with one scan parse as in one piece", () => {
  const arb = fc.tuple(
    fc.constantFrom("HTTP/1.1 200 OK", "HTTP/1.0 404 Not Found", "HTTP/1.1 204", "HTTP/1.1 101 Switching Protocols"),
    fc.array(fc.constantFrom("Content-Length: 12", "X-A: b", "Upgrade: websocket", "Transfer-Encoding: chunked", "Connection: close", "Via: 1.1 a"), { maxLength: 5 }),
    fc.array(fc.nat(), { maxLength: 10 }),
  );
  fc.assert(
    fc.property(arb, ([line, fields, cutSeeds]) => {
      const raw = head(line, ...fields);
      const cuts = [...new Set(cutSeeds.map((c) => c % raw.length))].sort((x, y) => x - y);
      assert.deepEqual(feed(raw, resuming("GET"), cuts).results.at(-1), parse(raw, "GET"));
    }),
    { numRuns: 300 },
  );
});

// --------------------------------------------------------------------- limits

test("response limits: too many fields → 502", () => {
  const raw = head("HTTP/1.1 200 OK", ...Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}`));
  const r = parse(raw);
  assert.equal(r.kind === "error" && r.status, 502);
  assert.equal(parse(head("HTTP/1.1 200 OK", ...Array.from({ length: 100 }, (_, i) => `X-${i}: ${i}`))).kind, "ok");
});

test("response limits: a head reaching maxHeadBytes unfinished → 502", () => {
  const limits = { ...DEFAULT_LIMITS, maxHeadBytes: 64 };
  const r = parse(`HTTP/1.1 200 OK\r\nX: ${"v".repeat(60)}`, "GET", limits);
  assert.equal(r.kind === "error" && r.status, 502);
  assert.equal(parse(`HTTP/1.1 200 OK\r\nX: ${"v".repeat(20)}`, "GET", limits).kind, "incomplete");
});

test("response offsets: a head followed by its body and the next response", () => {
  const first = head("HTTP/1.1 200 OK", "Content-Length: 2");
  const bytes = encodeLatin1(first + "hi" + head("HTTP/1.1 204 No Content"));
  const r = parseResponseHead(bytes, 0, bytes.length, DEFAULT_LIMITS, "GET");
  assert.equal(r.kind === "ok" && r.length, first.length);
  const r2 = parseResponseHead(bytes, first.length + 2, bytes.length, DEFAULT_LIMITS, "GET");
  assert.equal(r2.kind === "ok" && r2.head.status, 204);
});

// ----------------------------------------------------------------- properties

test("property: generated responses parse back; framing follows method and status", () => {
  const arb = fc.record({
    status: fc.integer({ min: 100, max: 599 }),
    method: fc.constantFrom("GET", "HEAD", "POST"),
    body: fc.constantFrom("length", "chunked", "close"),
    length: fc.nat(),
  });
  fc.assert(
    fc.property(arb, ({ status, method, body, length }) => {
      if (status === 101) return;
      const fields = body === "length" ? [`Content-Length: ${length}`] : body === "chunked" ? ["Transfer-Encoding: chunked"] : [];
      const h = parseOk(head(`HTTP/1.1 ${status} Reason`, ...fields), method);
      const bodiless = method === "HEAD" || status < 200 || status === 204 || status === 304;
      const want = bodiless ? { kind: "none" } : body === "length" ? { kind: "length", length } : { kind: body };
      assert.deepEqual(h.framing, want);
      assert.equal(h.keepAlive, bodiless || body !== "close");
    }),
    { numRuns: 500 },
  );
});

test("property: arbitrary bytes after a status line never throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom("GET", "HEAD", "CONNECT"), (tail, method) => {
      const bytes = new Uint8Array([...encodeLatin1("HTTP/1.1 200 OK\r\n"), ...tail]);
      const r = parseResponseHead(bytes, 0, bytes.length, DEFAULT_LIMITS, method);
      if (r.kind === "error") assert.equal(r.status, 502);
      if (r.kind === "ok") assert.ok(r.length <= bytes.length);
    }),
    { numRuns: 1000 },
  );
});
