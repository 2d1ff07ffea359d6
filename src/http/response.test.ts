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
import { ACCEPT, REJECT } from "./_cases/response.ts";

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
