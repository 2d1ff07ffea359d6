/**
 * Properties: on generated near-valid heads (case changes, OWS, obs-text,
 * duplicate and conflicting framing fields, bare LF/CR, folds, long values,
 * one-byte mutations) the byte path and the string path accept and reject
 * the same heads with the same status and reason, give the same facts and
 * fields, write the same forwarded bytes, and resume at every split.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { HttpVersion } from "../head.ts";
import type { ClientResponseOptions, UpstreamRequestOptions } from "../rewrite.ts";
import { feedRequest, feedResponse, sameClientHead, sameRequest, sameResponse, sameUpstreamHead } from "./_compare.ts";
import { RequestView } from "./request_view.ts";
import { ResponseView } from "./response_view.ts";

const UP: UpstreamRequestOptions = { clientAddress: "10.0.0.1", proto: "http", viaName: "spliced" };
const DOWN: ClientResponseOptions = { clientVersion: "HTTP/1.1", keepAlive: true, viaName: "spliced" };

/** A route's edits. */
type Edits = { setHeaders?: Record<string, string>; removeHeaders?: string[] };

const reqView = new RequestView();
const respView = new ResponseView();

/** A string with random ASCII case changes. */
const recased = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((flips) =>
    [...s].map((c, i) => (flips[i] ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join("")
  );

const ows = fc.constantFrom("", "", "", " ", "  ", "\t", " \t");
const obsText = fc.stringMatching(/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,30}[\x21-\x7e\x80-\xff])?$/);
const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,10}$/);

/** Interesting values per field name, valid ones then invalid ones; other names get a random value. */
const VALUES: Record<string, [good: string[], bad: string[]]> = {
  host: [["example.com", "example.com:8080", "[::1]:80", ""], ["a b", "u@a", "a:b", "a, b", "caf\u00e9"]],
  "content-length": [["0", "5", "05", "5, 5", "5,5", "9007199254740991"], ["5, 6", "", "+5", "-1", "1 2", "5,", "9007199254740992", "5\u00a0"]],
  "transfer-encoding": [["chunked", "CHUNKED", "Chunked", ", chunked"], ["gzip, chunked", "chunked, gzip", "chunked, chunked", "identity", "", "chunked\u00a0", "xchunked"]],
  connection: [["close", "keep-alive", "Keep-Alive", "upgrade", "Upgrade, keep-alive", "X-Foo, close", ", ,", "via, x-forwarded-for", "host, content-length", "te, foo"], ["a b", "upgrade/1"]],
  upgrade: [["websocket", "h2c", "TLS/1.2, websocket", ""], []],
  expect: [["100-continue", "100-Continue", "something", "100-continue, x", ""], []],
  via: [["1.0 fred", "", "1.1 a, 1.1 b"], []],
  "x-forwarded-for": [["1.1.1.1", "", "2.2.2.2, 3.3.3.3"], []],
};
const NAMES = [...Object.keys(VALUES), "te", "trailer", "keep-alive", "proxy-connection", "x-forwarded-proto", "x-forwarded-host", "foo", "close", "accept"];

function valueFor(name: string): fc.Arbitrary<string> {
  const pools = VALUES[name];
  if (pools === undefined) return obsText;
  const [good, bad] = pools;
  return bad.length === 0 ? fc.constantFrom(...good) : fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
}

const fieldArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES).chain((n) => fc.tuple(recased(n), valueFor(n))) },
  { weight: 3, arbitrary: fc.tuple(token, fc.oneof(obsText, fc.constant(""))) },
  { weight: 1, arbitrary: fc.tuple(token, fc.nat({ max: 3000 }).map((n) => "v".repeat(n))) },
).chain(([n, v]) => fc.tuple(ows, ows).map(([a, b]) => `${n}:${a}${v}${b}`));

/** Field groups that make a shape: framing, upgrade, expectations. */
const groupArb = fc.constantFrom(
  [] as string[],
  ["Connection: upgrade", "Upgrade: websocket"],
  ["connection: Upgrade, close", "Upgrade: h2c", "upgrade: x"],
  ["Content-Length: 5"],
  ["Transfer-Encoding: chunked"],
  ["Content-Length: 5", "content-length: 5"],
  ["Content-Length: 5", "Transfer-Encoding: chunked"],
  ["Expect: 100-continue", "Content-Length: 1"],
  ["Connection: close"],
  ["Connection: keep-alive"],
);

/** A rarely broken line: its index, or null. */
const brokenLine = fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 12 }) });

const requestLine = fc.tuple(
  fc.oneof(fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "get", "PURGE"), token),
  fc.oneof(
    { weight: 5, arbitrary: fc.stringMatching(/^\/[\x21-\x22\x24-\x7e]{0,30}$/) },
    { weight: 1, arbitrary: fc.constantFrom("*", "/api", "/api/x", "/api?q", "http://example.com/x", "HTTPS://Example.COM", "http://a:8080/", "example.com:443", "[::1]:80", "http://u@a/", "a:80", "/a#b", "ftp://a/") },
  ),
  fc.oneof({ weight: 8, arbitrary: fc.constantFrom("HTTP/1.1", "HTTP/1.0") }, { weight: 1, arbitrary: fc.constantFrom("HTTP/2.0", "http/1.1", "HTTP/1.10") }),
).map(([m, t, v]) => `${m} ${t} ${v}`);

/** Joins lines with CRLF, sometimes breaking one line ending (bare LF, bare CR, fold, space before colon). */
const EOL_MUTATIONS = ["\n", "\r", "\r\n ", "\r\n\t", " \r\n"];
function render(lines: string[], broken: number | null, how: number): string {
  let out = "";
  lines.forEach((l, i) => {
    out += l + (broken === i ? EOL_MUTATIONS[how % EOL_MUTATIONS.length] : "\r\n");
  });
  return out + "\r\n";
}

const requestText = fc.record({
  lead: fc.constantFrom("", "", "", "\r\n"),
  line: requestLine,
  host: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
  fields: fc.array(fieldArb, { maxLength: 8 }),
  group: groupArb,
  broken: brokenLine,
  how: fc.nat(),
}).map(({ lead, line, host, fields, group, broken, how }) =>
  lead + render([line, ...(host ? ["Host: example.com"] : []), ...group, ...fields], broken, how)
);

/** A head with one byte changed, deleted or inserted somewhere. */
function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(text, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "delete", "insert")).map(([t, at, byte, op]) => {
    const i = at % t.length, c = String.fromCharCode(byte);
    return op === "set" ? t.slice(0, i) + c + t.slice(i + 1) : op === "delete" ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + c + t.slice(i);
  });
}

const requestOpts = fc.record({
  close: fc.boolean(),
  pathPrefixStrip: fc.constantFrom(undefined, "/api", "/api/", "/"),
  defaultHost: fc.constantFrom(undefined, "backend:8080"),
  proto: fc.constantFrom("http" as const, "https" as const),
  edits: fc.constantFrom<Edits[]>({}, { setHeaders: { Host: "h", "X-Forwarded-For": "x", Foo: "f" }, removeHeaders: ["via", "accept", "host"] }, { removeHeaders: ["X-Forwarded-Proto", "expect"] }),
}).map(({ edits, ...o }) => ({ ...UP, ...o, ...edits }));

test("property: requests — same outcome, facts, fields and status on both paths (fresh and reused view)", () => {
  fc.assert(
    fc.property(fc.oneof(requestText, mutated(requestText)), (text) => {
      sameRequest(text);
      sameRequest(text, reqView);
    }),
    { numRuns: 3000 },
  );
});

test("property: accepted requests are forwarded byte for byte as the string path forwards them", () => {
  fc.assert(
    fc.property(requestText, requestOpts, (text, opts) => {
      if (sameRequest(text, reqView).kind === "ok") sameUpstreamHead(text, opts, reqView);
    }),
    { numRuns: 1500 },
  );
});

test("property: requests fed one byte at a time with one scan end as in one piece", () => {
  fc.assert(
    fc.property(fc.oneof(requestText, mutated(requestText)), (text) => {
      assert.deepEqual(feedRequest(text, reqView), sameRequest(text));
    }),
    { numRuns: 300 },
  );
});

test("property: requests fed in random pieces with one scan end as in one piece", () => {
  fc.assert(
    fc.property(fc.oneof(requestText, mutated(requestText)), fc.array(fc.nat(), { maxLength: 12 }), (text, seeds) => {
      const cuts = [...new Set(seeds.map((c) => c % text.length))].sort((x, y) => x - y);
      assert.deepEqual(feedRequest(text, reqView, cuts), sameRequest(text));
    }),
    { numRuns: 1000 },
  );
});

test("property: arbitrary bytes — same outcome on both paths", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = String.fromCharCode(...bytes);
      sameRequest(text, reqView);
      sameResponse(text, "GET", respView);
    }),
    { numRuns: 1000 },
  );
});

// ------------------------------------------------------------------ responses

const statusLine = fc.tuple(
  fc.oneof({ weight: 8, arbitrary: fc.constantFrom("HTTP/1.1", "HTTP/1.0") }, { weight: 1, arbitrary: fc.constantFrom("HTTP/2.0", "http/1.1") }),
  fc.oneof(fc.constantFrom(100, 101, 103, 200, 204, 206, 304, 404, 426, 500, 599, 99, 600), fc.integer({ min: 0, max: 999 })),
  fc.constantFrom(null, "", "OK", "Not  Found\t\u00e9", "Switching Protocols"),
).map(([v, s, r]) => `${v} ${String(s).padStart(3, "0")}${r === null ? "" : ` ${r}`}`);

const responseText = fc.record({
  line: statusLine,
  fields: fc.array(fieldArb, { maxLength: 8 }),
  group: groupArb,
  broken: brokenLine,
  how: fc.nat(),
}).map(({ line, fields, group, broken, how }) => render([line, ...fields, ...group], broken, how));

const method = fc.constantFrom("GET", "HEAD", "CONNECT", "POST", "PURGE");

const responseOpts = fc.record({
  clientVersion: fc.constantFrom("HTTP/1.1" as HttpVersion, "HTTP/1.0" as HttpVersion),
  keepAlive: fc.boolean(),
  forceClose: fc.constantFrom(undefined, false, true),
  edits: fc.constantFrom<Edits[]>({}, { setHeaders: { "X-Frame-Options": "DENY", Via: "v" }, removeHeaders: ["foo", "accept"] }, { removeHeaders: ["via"] }),
}).map(({ edits, ...o }) => ({ ...DOWN, ...o, ...edits }));

test("property: responses — same outcome, facts, fields and status on both paths", () => {
  fc.assert(
    fc.property(fc.oneof(responseText, mutated(responseText)), method, (text, m) => {
      sameResponse(text, m);
      sameResponse(text, m, respView);
    }),
    { numRuns: 3000 },
  );
});

test("property: accepted responses are sent to the client byte for byte as the string path sends them, same plan", () => {
  fc.assert(
    fc.property(responseText, method, responseOpts, (text, m, opts) => {
      if (sameResponse(text, m, respView).kind === "ok") sameClientHead(text, m, opts, respView);
    }),
    { numRuns: 1500 },
  );
});

test("property: responses fed one byte at a time with one scan end as in one piece", () => {
  fc.assert(
    fc.property(fc.oneof(responseText, mutated(responseText)), method, (text, m) => {
      assert.deepEqual(feedResponse(text, m, respView), sameResponse(text, m));
    }),
    { numRuns: 300 },
  );
});

test("property: the generators reach ok and error on both sides (they test something)", () => {
  const kinds = new Set<string>();
  fc.assert(
    fc.property(requestText, responseText, (rq, rs) => {
      kinds.add(`req-${sameRequest(rq).kind}`);
      kinds.add(`resp-${sameResponse(rs, "GET").kind}`);
    }),
    { numRuns: 500 },
  );
  assert.deepEqual([...kinds].sort(), ["req-error", "req-ok", "resp-error", "resp-ok"]);
});
