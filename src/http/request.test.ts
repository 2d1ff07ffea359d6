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
import { ACCEPT, EARLY, GET, REJECT } from "./_cases/request.ts";

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

// ---------------------------------------------------------------- acceptances

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
