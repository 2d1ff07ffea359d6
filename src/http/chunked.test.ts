/**
 * Table tests of the chunked coding: size lines, extensions, the CRLF after
 * chunk data, trailers; incremental feeding; and a walk over generated bodies.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  chunkSizeLine,
  forwardableTrailers,
  MAX_CHUNK_LINE,
  NOT_TRAILERS,
  parseChunkDataEnd,
  parseChunkLine,
  parseTrailers,
} from "./chunked.ts";
import { decodeLatin1, encodeLatin1 } from "./chars.ts";
import { DEFAULT_LIMITS, type HeadLimits, type HeadScan } from "./head.ts";
import { feed, framed, isReset, prefixKinds } from "./_testing.ts";

function line(text: string) {
  const { buf, start, end } = framed(text);
  return parseChunkLine(buf, start, end);
}

// ----------------------------------------------------------- chunk-size lines

const LONG_EXT = `5;x=${"v".repeat(MAX_CHUNK_LINE - 6)}\r\n`; // exactly MAX_CHUNK_LINE bytes
const TOO_LONG = `5;x=${"v".repeat(MAX_CHUNK_LINE - 5)}\r\n`;

const SIZES: Array<[raw: string, size: number]> = [
  ["0\r\n", 0],
  ["5\r\n", 5],
  ["a\r\n", 10],
  ["A\r\n", 10],
  ["fF\r\n", 255],
  ["0000000000000010\r\n", 16],
  ["1fffffffffffff\r\n", Number.MAX_SAFE_INTEGER],
  ["5;name\r\n", 5],
  ["5;name=value\r\n", 5],
  ["5;n=\"quoted value\"\r\n", 5],
  ["5;n=\"esc\\\"aped \\\\ \\t\"\r\n", 5],
  ["5;n=\"\"\r\n", 5],
  ["5;n=\"caf\u00e9\"\r\n", 5],
  ["5;a;b=c;d=\"e\"\r\n", 5],
  ["5 ; a = b ; c\r\n", 5],
  ["5\t;\ta\t=\tb\r\n", 5],
  ["5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\n", 5],
  [LONG_EXT, 5],
];

for (const [raw, size] of SIZES) {
  test(`chunk line accepts ${JSON.stringify(raw.slice(0, 40))}`, () => {
    assert.deepEqual(line(raw), { kind: "size", size, length: raw.length });
  });
  test(`chunk line incremental: every prefix of ${JSON.stringify(raw.slice(0, 40))} is incomplete`, () => {
    assert.deepEqual([...prefixKinds(raw, parseChunkLine)], ["incomplete"]);
  });
}

const BAD_LINES: Array<[name: string, raw: string]> = [
  ["no size", "\r\n"],
  ["not hex", "x\r\n"],
  ["0x prefix", "0x5\r\n"],
  ["minus", "-1\r\n"],
  ["plus", "+1\r\n"],
  ["leading space", " 5\r\n"],
  ["trailing space", "5 \r\n"],
  ["trailing tab", "5\t\r\n"],
  ["whitespace after an extension", "5;a=b \r\n"],
  ["comma", "5,6\r\n"],
  ["bare LF", "5\n"],
  ["bare LF after an extension", "5;a\n"],
  ["bare CR", "5\rX"],
  ["17 hex digits (leading zeros too)", "00000000000000005\r\n"],
  ["2^53", "20000000000000\r\n"],
  ["16 f's", "ffffffffffffffff\r\n"],
  ["empty extension name", "5;\r\n"],
  ["extension without a name", "5;=v\r\n"],
  ["empty extension value", "5;a=\r\n"],
  ["space inside an extension name", "5;a b\r\n"],
  ["space inside a token value", "5;a=b c\r\n"],
  ["@ in an extension name", "5;a@=b\r\n"],
  ["unterminated quoted value", "5;a=\"open\r\n"],
  ["control byte in a quoted value", "5;a=\"\x01\"\r\n"],
  ["control byte in a quoted-pair", "5;a=\"\\\x01\"\r\n"],
  ["NUL in a token value", "5;a=b\0\r\n"],
  ["bytes after a quoted value", "5;a=\"b\"c\r\n"],
  ["line over MAX_CHUNK_LINE", TOO_LONG],
  ["no CRLF within MAX_CHUNK_LINE", `5;x=${"v".repeat(MAX_CHUNK_LINE)}`],
];

const lineResuming = (buf: Uint8Array, start: number, end: number, scan: HeadScan) => parseChunkLine(buf, start, end, scan);

test("chunk lines resumed byte by byte give the one-shot result and reset the scan", () => {
  for (const [raw] of [...SIZES, ...BAD_LINES.map(([, raw]) => [raw])]) {
    const { results, scan } = feed(raw, lineResuming);
    assert.deepEqual(results.at(-1), line(raw), JSON.stringify(raw.slice(0, 40)));
    assert.ok(isReset(scan));
  }
});

for (const [name, raw] of BAD_LINES) {
  test(`chunk line rejects: ${name}`, () => {
    const r = line(raw);
    assert.equal(r.kind, "error", JSON.stringify(r));
    assert.ok(r.kind === "error" && r.reason.length > 0);
  });
}

test("chunk line: the long-line cases are 4096 and 4097 bytes", () => {
  assert.equal(LONG_EXT.length, MAX_CHUNK_LINE);
  assert.equal(TOO_LONG.length, MAX_CHUNK_LINE + 1);
});

test("chunk line: an empty range is incomplete, size digits alone are incomplete", () => {
  const { buf, start } = framed("5\r\n");
  assert.equal(parseChunkLine(buf, start, start).kind, "incomplete");
  assert.equal(line("1234").kind, "incomplete");
  assert.equal(line("5;a=\"x\\").kind, "incomplete");
});

test("chunk line: errors in the size and the byte after it show at once", () => {
  for (const raw of ["z", "5x", "5\rx", "5\n", "12345678901234567"]) assert.equal(line(raw).kind, "error", raw);
});

test("chunk line: errors in extensions show once the line's LF is in (O(n) when fed byte by byte)", () => {
  assert.equal(line("5 x").kind, "incomplete");
  assert.equal(line("5 x\r\n").kind, "error");
  assert.equal(line("5;a=\"\x01").kind, "incomplete");
  assert.equal(line("5;a=\"\x01\"\n").kind, "error");
});

test("chunk line: length stops at the CRLF; the data is not read", () => {
  const raw = "3;a=b\r\nabc\r\n0\r\n\r\n";
  assert.deepEqual(line(raw), { kind: "size", size: 3, length: 7 });
});

test("chunkSizeLine: lowercase hex and CRLF", () => {
  assert.equal(chunkSizeLine(0), "0\r\n");
  assert.equal(chunkSizeLine(255), "ff\r\n");
  assert.equal(chunkSizeLine(Number.MAX_SAFE_INTEGER), "1fffffffffffff\r\n");
});

test("property: every size up to 2^53-1 round-trips through chunkSizeLine", () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      const raw = chunkSizeLine(n);
      assert.deepEqual(line(raw), { kind: "size", size: n, length: raw.length });
      assert.deepEqual(line(raw.toUpperCase()), { kind: "size", size: n, length: raw.length });
    }),
    { numRuns: 500 },
  );
});

test("property: arbitrary bytes never throw in the chunk parsers", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      for (const r of [parseChunkLine(bytes, 0, bytes.length), parseChunkDataEnd(bytes, 0, bytes.length), parseTrailers(bytes, 0, bytes.length)]) {
        assert.ok(["size", "ok", "error", "incomplete"].includes(r.kind));
        if ("length" in r) assert.ok(r.length <= bytes.length);
      }
    }),
    { numRuns: 1000 },
  );
});

// ------------------------------------------------------------ chunk data end

const DATA_END: Array<[raw: string, kind: string]> = [
  ["", "incomplete"],
  ["\r", "incomplete"],
  ["\r\n", "ok"],
  ["\r\n5\r\n", "ok"],
  ["\n", "error"],
  ["x", "error"],
  ["\rx", "error"],
  ["\r\r", "error"],
];

for (const [raw, kind] of DATA_END) {
  test(`chunk data end ${JSON.stringify(raw)} → ${kind}`, () => {
    const { buf, start, end } = framed(raw);
    const r = parseChunkDataEnd(buf, start, end);
    assert.equal(r.kind, kind);
    if (r.kind === "ok") assert.equal(r.length, 2);
  });
}

// ------------------------------------------------------------------- trailers

function trailers(text: string, limits?: HeadLimits) {
  const { buf, start, end } = framed(text);
  return parseTrailers(buf, start, end, limits);
}

test("trailers: an empty section is the CRLF alone", () => {
  assert.deepEqual(trailers("\r\n"), { kind: "ok", length: 2, fields: [] });
});

test("trailers: fields in order, OWS trimmed", () => {
  const raw = "X-Checksum: abc \r\ngrpc-status:0\r\n\r\n";
  assert.deepEqual(trailers(raw), { kind: "ok", length: raw.length, fields: [["X-Checksum", "abc"], ["grpc-status", "0"]] });
  assert.deepEqual([...prefixKinds(raw, parseTrailers)], ["incomplete"]);
});

test("trailers: stop at their empty line (the next message may follow)", () => {
  const raw = "A: 1\r\n\r\nGET / HTTP/1.1\r\n";
  assert.equal(trailers(raw).kind === "ok" && (trailers(raw) as { length: number }).length, 8);
});

const trailersResuming = (buf: Uint8Array, start: number, end: number, scan: HeadScan) =>
  parseTrailers(buf, start, end, DEFAULT_LIMITS, scan);

test("trailers resumed byte by byte give the one-shot result and reset the scan", () => {
  for (const raw of ["\r\n", "X-Checksum: abc \r\ngrpc-status:0\r\n\r\n", "X-A : 1\r\n\r\n", "X-A: 1\r\n 2\r\n\r\n", "X-A: \0\r\n\r\n"]) {
    const { results, scan } = feed(raw, trailersResuming);
    assert.deepEqual(results.at(-1), trailers(raw), JSON.stringify(raw));
    assert.ok(isReset(scan));
  }
});

const BAD_TRAILERS: Array<[name: string, raw: string]> = [
  ["space before the colon", "X-A : 1\r\n\r\n"],
  ["obs-fold", "X-A: 1\r\n 2\r\n\r\n"],
  ["whitespace line", " \r\n\r\n"],
  ["NUL in a value", "X-A: \0\r\n\r\n"],
  ["bare LF", "X-A: 1\n\n"],
  ["bare LF terminator", "\n"],
  ["bare CR", "\rX"],
  ["no colon", "X-A\r\n\r\n"],
];

for (const [name, raw] of BAD_TRAILERS) {
  test(`trailers reject: ${name}`, () => {
    assert.equal(trailers(raw).kind, "error");
  });
}

test("trailers: limits on fields and bytes", () => {
  const limits: HeadLimits = { maxHeadBytes: 64, maxHeaders: 2, maxTargetBytes: 8 };
  assert.equal(trailers("A: 1\r\nB: 2\r\n\r\n", limits).kind, "ok");
  assert.equal(trailers("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).kind, "error");
  assert.equal(trailers(`A: ${"v".repeat(70)}`, limits).kind, "error");
  assert.equal(trailers(`A: ${"v".repeat(40)}`, limits).kind, "incomplete");
});

// --------------------------------------------------------- a whole body walk

/** Walks a chunked body as the data plane does; returns the data and the bytes consumed. */
function walk(bytes: Uint8Array): { data: string; used: number; fields: Array<[string, string]> } {
  let p = 0;
  let data = "";
  for (;;) {
    const l = parseChunkLine(bytes, p, bytes.length);
    if (l.kind !== "size") throw new Error(`chunk line at ${p}: ${JSON.stringify(l)}`);
    p += l.length;
    if (l.size === 0) break;
    data += decodeLatin1(bytes, p, p + l.size); // the data plane splices these bytes
    p += l.size;
    const e = parseChunkDataEnd(bytes, p, bytes.length);
    if (e.kind !== "ok") throw new Error(`data end at ${p}`);
    p += e.length;
  }
  const t = parseTrailers(bytes, p, bytes.length);
  if (t.kind !== "ok") throw new Error(`trailers at ${p}`);
  return { data, used: p + t.length, fields: t.fields };
}

test("property: a generated chunked body walks back to its data and trailers", () => {
  const chunk = fc.record({
    data: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => String.fromCharCode(...bytes)),
    ext: fc.constantFrom("", ";a", ";a=b", ";q=\"x y\"", " ; n = v"),
    upper: fc.boolean(),
  });
  const trailer = fc.array(fc.constantFrom<[string, string]>(["X-Sum", "1"], ["Grpc-Status", "0"]), { maxLength: 2 });
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 8 }), trailer, (chunks, fields) => {
      const size = (n: number, upper: boolean) => (upper ? n.toString(16).toUpperCase() : n.toString(16));
      const body = chunks.map((c) => `${size(c.data.length, c.upper)}${c.ext}\r\n${c.data}\r\n`).join("") +
        "0\r\n" + fields.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n";
      const bytes = encodeLatin1(body + "NEXT");
      const got = walk(bytes);
      assert.equal(got.data, chunks.map((c) => c.data).join(""));
      assert.equal(got.used, body.length);
      assert.deepEqual(got.fields, fields);
    }),
    { numRuns: 300 },
  );
});

// ------------------------------------------------------------- trailer filter

test("forwardableTrailers drops framing, routing and control fields, keeps the rest in order", () => {
  const fields: [string, string][] = [
    ["X-Checksum", "abc"],
    ["Content-Length", "5"],
    ["Transfer-Encoding", "chunked"],
    ["Host", "evil.example"],
    ["Connection", "close"],
    ["Keep-Alive", "timeout=5"],
    ["TE", "trailers"],
    ["Trailer", "X-Checksum"],
    ["Upgrade", "websocket"],
    ["Proxy-Connection", "keep-alive"],
    ["Server-Timing", "db;dur=53"],
    ["x-forwarded-for", "10.0.0.1"],
    ["Authorization", "Bearer x"],
    ["Content-Type", "text/plain"],
    ["Content-Encoding", "gzip"],
    ["Set-Cookie", "a=b"],
    ["grpc-status", "0"],
    ["Authentication-Info", "nextnonce=\"x\""],
  ];
  assert.deepEqual(forwardableTrailers(fields), [
    ["X-Checksum", "abc"],
    ["Server-Timing", "db;dur=53"],
    ["grpc-status", "0"],
    ["Authentication-Info", "nextnonce=\"x\""],
  ]);
});

test("forwardableTrailers: names match in any case; alsoDrop removes more; the input is not changed", () => {
  const fields: [string, string][] = [["CONTENT-LENGTH", "1"], ["cOnNeCtIoN", "x"], ["X-User", "admin"], ["X-Ok", "1"]];
  const copy = structuredClone(fields);
  assert.deepEqual(forwardableTrailers(fields, ["x-user"]), [["X-Ok", "1"]]);
  assert.deepEqual(fields, copy);
  assert.deepEqual(forwardableTrailers([]), []);
});

test("forwardableTrailers: every listed name is dropped, and parseTrailers output feeds it", () => {
  for (const name of NOT_TRAILERS) assert.deepEqual(forwardableTrailers([[name, "v"]]), [], name);
  const r = parseTrailers(encodeLatin1("Content-Length: 9\r\nX-Sum: 1\r\n\r\n"), 0, 31);
  assert.equal(r.kind, "ok");
  if (r.kind === "ok") assert.deepEqual(forwardableTrailers(r.fields), [["X-Sum", "1"]]);
});
