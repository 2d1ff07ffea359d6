/**
 * Fuzzing the RESPONSE direction of the HTTP data plane (issue 10, "Proof that
 * it holds"): a real spliced (`http`, one worker) in front of a raw upstream
 * that answers each forwarded request with a generated response, valid
 * (Content-Length, chunked with extensions, trailers and chunks over 8 KiB,
 * close-delimited, 1xx before the final response, 204/304, HEAD, keep-alive
 * sequences) or mutated (bad status lines, bare LF, obs-fold, conflicting
 * framing, bad chunk lines and sizes, chunk data too short or too long, CTL
 * bytes, over-long heads, bytes after the response, cut short, random byte
 * edits), written in random pieces with short pauses. The independent
 * reference parser (test/helpers/strict_http.ts) reads what the upstream sent
 * and what the client got. The property, for each client request in order:
 *
 * - the upstream's response is valid: the client gets it with the same status,
 *   the same body (by hash), the same X-T trailers and the same number of 1xx
 *   (HTTP/1.1 clients), framed so that the reference parses it; bytes the
 *   upstream sent after the end of that response are never forwarded;
 * - its head is invalid, or the upstream closed before a head was complete:
 *   the client gets a 502 and the connection closes, nothing after it;
 * - its head was valid but its body is invalid or cut short: the client gets
 *   that head and then an incomplete message and the connection closes (never
 *   a complete message). An HTTP/1.0 client gets a chunked body de-chunked and
 *   close-delimited, so there a body cut short cannot be told from a whole one:
 *   the client's body must then be a prefix of what the upstream sent.
 *
 * After the last response the client half-closes and the connection must end
 * without another byte. A request reaches the upstream once, or twice only when
 * the upstream closed a reused connection without a byte of answer (the
 * README's retry of idempotent requests without body).
 *
 * Bounded: SPLICED_FUZZ_RUNS runs (default 120), seed from SPLICED_FUZZ_SEED
 * (printed on failure with the path for SPLICED_FUZZ_PATH).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import {
  Collector,
  type Field,
  hash,
  parseResponse,
  type RefMessage,
  strictUpstream,
  type Verdict,
  writeSplit,
} from "./helpers/strict_http.ts";
import type net from "node:net";

const RUNS = Number(process.env.SPLICED_FUZZ_RUNS ?? 120);
const SEED = process.env.SPLICED_FUZZ_SEED !== undefined ? Number(process.env.SPLICED_FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const PATH = process.env.SPLICED_FUZZ_PATH;
/**
 * Whether the client may half-close after writing its requests (on by default since the FIN
 * behind pipelined data is read; SPLICED_FUZZ_CLIENT_FIN=0 turns it off to narrow a failure).
 */
const CLIENT_FIN = process.env.SPLICED_FUZZ_CLIENT_FIN !== "0";
/** How long one run may wait for the proxy (a hang is a failure, not a pass). */
const WAIT_MS = 10_000;

async function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>): Promise<void> {
  const out = await fc.check(fc.asyncProperty(arb, check), { seed: SEED, path: PATH, endOnFailure: PATH !== undefined, numRuns: RUNS, interruptAfterTimeLimit: 120_000 });
  if (!out.failed) return;
  const e = out.errorInstance as Error | undefined;
  throw new Error(
    `${name}: failed after ${out.numRuns} runs (shrunk ${out.numShrinks} times); reproduce with SPLICED_FUZZ_SEED=${SEED} SPLICED_FUZZ_PATH=${out.counterexamplePath}\n${e?.message ?? String(e)}`,
  );
}

async function startProxy(upstreamPort: number): Promise<{ proxy: SplicedProcess; stop: () => Promise<void> }> {
  const tmp = tempDir("spliced-fuzz-resp-");
  const path = writeConfig(tmp.dir, {
    workers: 1, gracePeriod: "1s", admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", upstreamTimeout: "5s", routes: [{ upstreams: [`127.0.0.1:${upstreamPort}`] }] }],
  });
  const proxy = await startSpliced(["--config", path]);
  return { proxy, stop: async () => void (await proxy.stop(), tmp.remove()) };
}

const show = (b: Buffer, n = 300) => JSON.stringify(b.subarray(0, n).toString("latin1"));
const idOf = (headers: Field[]) => headers.find(([n]) => n.toLowerCase() === "x-fuzz-id")?.[1];
const xTrailers = (t: Field[]) => t.filter(([n]) => /^x-t\d$/i.test(n)).map(([n, v]) => `${n.toLowerCase()}: ${v}`);

// ------------------------------------------------------------------ generated responses

const TOKEN = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const VALUE = fc.stringMatching(/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,40}[\x21-\x7e\x80-\xff])?$/);
const OWS = fc.constantFrom("", "", " ", "  ", "\t", " \t");
const recase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length })
  .map((f) => [...s].map((c, i) => (f[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

interface Chunk {
  data: Uint8Array;
  hex: string;
  ext: string;
}

const CHUNK: fc.Arbitrary<Chunk> = fc.record({
  data: fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 400 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 8000, maxLength: 14000 }) }),
  hex: fc.constantFrom("lower", "upper", "zeros"),
  ext: fc.constantFrom("", "", "", ";a", ";a=b", " ; x = y", ";q=\"v a\\\"l\"", ";a;b=c", "\t;n=\"\""),
});

interface GenResponse {
  /** Informational responses before the final one. */
  infos: { status: 100 | 102 | 103; lines: string[] }[];
  version: "HTTP/1.1" | "HTTP/1.0";
  status: number;
  reason: string;
  lines: string[];
  framing: "length" | "chunked" | "close";
  clName: string;
  teName: string;
  /** Content-Length value pattern: `n` is the length. */
  clForm: string;
  data: Uint8Array;
  chunks: Chunk[];
  last: string;
  trailers: string[];
  connection: string | null;
}

const RESPONSE: fc.Arbitrary<GenResponse> = fc.record({
  infos: fc.oneof(
    { weight: 4, arbitrary: fc.constant([] as GenResponse["infos"]) },
    { weight: 1, arbitrary: fc.array(fc.record({
      status: fc.constantFrom(100 as const, 103 as const, 103 as const, 102 as const),
      lines: fc.array(fc.constantFrom("Link: </style.css>; rel=preload; as=style", "X-Info: 1", "Link: </a.js>; rel=preload"), { maxLength: 2 }),
    }), { minLength: 1, maxLength: 3 }) },
  ),
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  status: fc.constantFrom(200, 200, 200, 201, 206, 404, 500, 503, 204, 304, 299, 599),
  reason: fc.constantFrom("OK", "OK", "", "Some Reason", "r\teason  ", "\xe9t\xe9"),
  lines: fc.array(fc.oneof(
    fc.tuple(TOKEN, OWS, VALUE, OWS).map(([n, a, v, b]) => `X-${n}:${a}${v}${b}`),
    fc.constantFrom("Content-Type: text/plain", "Cache-Control: no-cache", `X-Long: ${"v".repeat(3000)}`, "Set-Cookie: a=b; Path=/", "Keep-Alive: timeout=5"),
  ), { maxLength: 4 }),
  framing: fc.constantFrom("length", "length", "chunked", "chunked", "close"),
  clName: recase("Content-Length"),
  teName: recase("Transfer-Encoding"),
  clForm: fc.constantFrom("n", "n", "n", "0n", "n, n", "n,n"),
  data: fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ maxLength: 3000 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 20_000, maxLength: 70_000 }) }),
  chunks: fc.array(CHUNK, { maxLength: 5 }),
  last: fc.constantFrom("0", "0", "000", "0;end=1"),
  trailers: fc.array(fc.tuple(fc.constantFrom("X-T1", "X-T2", "x-checksum"), VALUE).map(([n, v]) => `${n}: ${v}`), { maxLength: 2 }),
  connection: fc.constantFrom(null, null, null, "close", "keep-alive", "Keep-Alive, x-foo"),
}).map((r) => {
  // Chunked is HTTP/1.1 only (a mutation covers it in HTTP/1.0).
  if (r.version === "HTTP/1.0" && r.framing === "chunked") r.framing = "length";
  return r;
});

const bodiless = (method: string, status: number) => method === "HEAD" || status < 200 || status === 204 || status === 304;

/** Serialises a response to a `method` request: the bytes, where the final head starts and ends. */
function serialize(r: GenResponse, method: string): { bytes: Buffer; finalStart: number; headEnd: number } {
  const parts: Buffer[] = [];
  for (const i of r.infos) parts.push(Buffer.from(`HTTP/1.1 ${i.status} Info\r\n${i.lines.map((l) => `${l}\r\n`).join("")}\r\n`, "latin1"));
  const finalStart = parts.reduce((n, b) => n + b.length, 0);
  const lines = [`${r.version} ${r.status}${r.reason === "" && r.status === 599 ? "" : ` ${r.reason}`}`, ...r.lines];
  if (r.framing === "length") lines.push(`${r.clName}: ${r.clForm.replaceAll("n", String(r.data.length))}`);
  if (r.framing === "chunked") lines.push(`${r.teName}: chunked`);
  if (r.connection !== null) lines.push(`Connection: ${r.connection}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  parts.push(head);
  if (!bodiless(method, r.status)) {
    if (r.framing !== "chunked") parts.push(Buffer.from(r.data));
    else {
      for (const c of r.chunks) {
        const n = c.data.length.toString(16);
        const size = c.hex === "upper" ? n.toUpperCase() : c.hex === "zeros" ? `00${n}` : n;
        parts.push(Buffer.from(`${size}${c.ext}\r\n`, "latin1"), Buffer.from(c.data), Buffer.from("\r\n"));
      }
      parts.push(Buffer.from(`${r.last}\r\n${r.trailers.map((t) => `${t}\r\n`).join("")}\r\n`, "latin1"));
    }
  }
  return { bytes: Buffer.concat(parts), finalStart, headEnd: finalStart + head.length };
}

/** `r` as HTTP/1.1 chunked with `raw` (chunk lines and data as is) before its last chunk. */
const chunkedWith = (r: GenResponse, raw: string): GenResponse => ({
  ...r, version: "HTTP/1.1", status: 200, framing: "chunked", chunks: r.chunks.filter((c) => c.data.length < 1000), last: `${raw}0`,
});
/** `r` as HTTP/1.1 chunked whose last chunk before the end is `size` bytes written with `data` bytes. */
const chunkedLie = (r: GenResponse, size: number, data: number): GenResponse =>
  chunkedWith(r, `${size.toString(16)}\r\n${"d".repeat(data)}\r\n`);

type Edit = (b: Buffer, finalStart: number, headEnd: number) => Buffer;
/** Structured mutations. `invalid`: the reference must reject the result (when the response has a body, for body breaks). */
const BREAKS: Record<string, { make: (r: GenResponse) => GenResponse | Edit; invalid: "head" | "body" | false }> = {
  statusLong: { make: (r) => ({ ...r, status: 2000 }), invalid: "head" },
  statusShort: { make: (r) => ({ ...r, status: 20 }), invalid: "head" },
  status099: { make: (r) => ({ ...r, status: 99, reason: "X" }), invalid: "head" },
  status600: { make: (r) => ({ ...r, status: 600 }), invalid: "head" },
  version12: { make: (r) => ({ ...r, version: "HTTP/1.2" as "HTTP/1.1" }), invalid: "head" },
  version2: { make: (r) => ({ ...r, version: "HTTP/2.0" as "HTTP/1.1" }), invalid: "head" },
  versionLower: { make: (r) => ({ ...r, version: "http/1.1" as "HTTP/1.1" }), invalid: "head" },
  twoSpaces: { make: () => (b, s) => Buffer.concat([b.subarray(0, s + 8), Buffer.from(" "), b.subarray(s + 8)]), invalid: "head" },
  leadingSpace: { make: () => (b, s) => Buffer.concat([b.subarray(0, s), Buffer.from(" "), b.subarray(s)]), invalid: "head" },
  ctlInReason: { make: (r) => ({ ...r, reason: "O\x01K" }), invalid: "head" },
  bareLF: { make: () => (b, s) => {
    const at = b.indexOf("\r\n", s);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }, invalid: "head" },
  bareLFEnd: { make: () => (b, _s, e) => Buffer.concat([b.subarray(0, e - 2), Buffer.from("\n"), b.subarray(e)]), invalid: "head" },
  bareCR: { make: (r) => ({ ...r, lines: [...r.lines, "X-A: a\rb"] }), invalid: "head" },
  obsFold: { make: (r) => ({ ...r, lines: [...r.lines, "X-Folded: a", " b"] }), invalid: "head" },
  obsFoldTab: { make: (r) => ({ ...r, lines: ["X-Folded: a", "\tb", ...r.lines] }), invalid: "head" },
  spaceBeforeColon: { make: (r) => ({ ...r, lines: [...r.lines, "X-Space : 1"] }), invalid: "head" },
  noColon: { make: (r) => ({ ...r, lines: [...r.lines, "X-NoColon"] }), invalid: "head" },
  nulInValue: { make: (r) => ({ ...r, lines: [...r.lines, "X-Nul: a\x00b"] }), invalid: "head" },
  ctlInValue: { make: (r) => ({ ...r, lines: [...r.lines, "X-Ctl: a\x1fb"] }), invalid: "head" },
  delInValue: { make: (r) => ({ ...r, lines: [...r.lines, "X-Del: a\x7fb"] }), invalid: "head" },
  nulInName: { make: (r) => ({ ...r, lines: [...r.lines, "X-N\x00ul: a"] }), invalid: "head" },
  badName: { make: (r) => ({ ...r, lines: [...r.lines, "X(y): a"] }), invalid: "head" },
  longHead: { make: (r) => ({ ...r, lines: [...r.lines, `X-Long: ${"a".repeat(20_000)}`] }), invalid: "head" },
  manyLines: { make: (r) => ({ ...r, lines: [...r.lines, ...Array.from({ length: 1200 }, (_, i) => `X-M${i}: ${"m".repeat(12)}`)] }), invalid: "head" },
  conflictingCL: { make: (r) => ({ ...r, status: 200, framing: "length", lines: [...r.lines, `Content-Length: ${r.data.length + 1}`] }), invalid: "head" },
  conflictingCLList: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: `n, ${r.data.length + 2}` }), invalid: "head" },
  badCLPlus: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: "+n" }), invalid: "head" },
  badCLNeg: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: "-n" }), invalid: "head" },
  badCLHex: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: "0xn" }), invalid: "head" },
  badCLComma: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: "n," }), invalid: "head" },
  badCLSpace: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: "1 n" }), invalid: "head" },
  hugeCL: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: "99999999999999999999" }), invalid: "head" },
  teAndCL: { make: (r) => ({ ...r, version: "HTTP/1.1", status: 200, framing: "chunked", lines: [...r.lines, "Content-Length: 5"] }), invalid: "head" },
  teGzip: { make: (r) => ({ ...r, version: "HTTP/1.1", status: 200, framing: "chunked", teName: "Transfer-Encoding: gzip,\r\nTransfer-Encoding" }), invalid: "head" },
  teChunkedTwice: { make: (r) => ({ ...r, version: "HTTP/1.1", status: 200, framing: "chunked", lines: [...r.lines, "Transfer-Encoding: chunked"] }), invalid: "head" },
  teIdentity: { make: (r) => ({ ...r, version: "HTTP/1.1", status: 200, framing: "chunked", lines: [...r.lines, "Transfer-Encoding: identity"] }), invalid: "head" },
  teInHttp10: { make: (r) => ({ ...r, version: "HTTP/1.0", status: 200, framing: "chunked" }), invalid: "head" },
  badConnection: { make: (r) => ({ ...r, connection: "close, a b" }), invalid: "head" },
  badChunkSize: { make: (r) => chunkedWith(r, "g\r\nhello\r\n"), invalid: "body" },
  negativeChunkSize: { make: (r) => chunkedWith(r, "-5\r\nhello\r\n"), invalid: "body" },
  hexPrefixChunkSize: { make: (r) => chunkedWith(r, "0x5\r\nhello\r\n"), invalid: "body" },
  longChunkSize: { make: (r) => chunkedWith(r, "00000000000000005\r\nhello\r\n"), invalid: "body" },
  emptyChunkSize: { make: (r) => chunkedWith(r, "\r\nhello\r\n"), invalid: "body" },
  spaceChunkSize: { make: (r) => chunkedWith(r, "5 \r\nhello\r\n"), invalid: "body" },
  bareLFChunk: { make: (r) => chunkedWith(r, "5\nhello\r\n"), invalid: "body" },
  bareLFAfterData: { make: (r) => chunkedWith(r, "5\r\nhello\n"), invalid: "body" },
  badChunkExt: { make: (r) => chunkedWith(r, "5;a=\"b\r\nhello\r\n"), invalid: "body" },
  badChunkExtName: { make: (r) => chunkedWith(r, "5;=b\r\nhello\r\n"), invalid: "body" },
  chunkTooLong: { make: (r) => chunkedLie(r, 5, 7), invalid: "body" },
  chunkTooShort: { make: (r) => chunkedLie(r, 5, 4), invalid: "body" },
  bigChunkTooLong: { make: (r) => chunkedLie(r, 9000, 9003), invalid: "body" },
  // A big chunk whose data is short swallows what follows as data: the reference says incomplete (the upstream then closes).
  bigChunkTooShort: { make: (r) => chunkedLie(r, 9000, 8990), invalid: false },
  badTrailer: { make: (r) => ({ ...chunkedWith(r, ""), trailers: ["X-T : v"] }), invalid: "body" },
  trailerFold: { make: (r) => ({ ...chunkedWith(r, ""), trailers: ["X-T1: v", " w"] }), invalid: "body" },
  trailerNul: { make: (r) => ({ ...chunkedWith(r, ""), trailers: ["X-T1: a\x00"] }), invalid: "body" },
  noLastCRLF: { make: (r) => ({ ...chunkedWith(r, ""), last: "0\r\nX" }), invalid: false },
  // Bytes after a complete response: never forwarded (a valid response among them least of all).
  junkAfter: { make: () => (b) => Buffer.concat([b, Buffer.from("XYZ\r\n")]), invalid: false },
  responseAfter: { make: () => (b) => Buffer.concat([b, Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: 1\r\n\r\nsmuggled")]), invalid: false },
  infoAfter: { make: () => (b) => Buffer.concat([b, Buffer.from("HTTP/1.1 100 Continue\r\n\r\n")]), invalid: false },
  clShort: { make: (r) => ({ ...r, status: 200, framing: "length", clForm: r.data.length > 0 ? String(r.data.length - 1) : "0", data: r.data.length > 0 ? r.data : Buffer.from("x") }), invalid: false },
  bodyAfterBodiless: { make: (r) => (b, _s, e) => (b.length === e ? Buffer.concat([b, Buffer.from(r.data.subarray(0, 50)), Buffer.from("zz")]) : b), invalid: false },
  crlfBefore: { make: () => (b, s) => Buffer.concat([b.subarray(0, s), Buffer.from("\r\n"), b.subarray(s)]), invalid: "head" },
  manyInfos: { make: (r) => ({ ...r, infos: Array.from({ length: 40 }, () => ({ status: 100 as const, lines: [] })) }), invalid: false },
};

/** Cut the bytes at a point (scaled) and close: the upstream ends mid-response. */
type Mutation = { kind: "valid" } | { kind: "break"; name: string } | { kind: "edit"; edits: [string, number, number][] } | { kind: "cut"; at: number };

const BYTES = [0x0d, 0x0a, 0x00, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x7f, 0x80, 0x61, 0x30, 0x66, 0x22, 0x5c, 0x48];
const POS = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "valid" } as Mutation) },
  { weight: 4, arbitrary: fc.constantFrom(...Object.keys(BREAKS)).map((name) => ({ kind: "break", name } as Mutation)) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom("replace", "insert", "delete"), POS, fc.constantFrom(...BYTES)), { minLength: 1, maxLength: 3 }).map((edits) => ({ kind: "edit", edits } as Mutation)) },
  { weight: 1, arbitrary: POS.map((at) => ({ kind: "cut", at } as Mutation)) },
);

/** The bytes the upstream sends for `r` with mutation `m`, to a `method` request. */
function build(r: GenResponse, m: Mutation, method: string): Buffer {
  if (m.kind === "break") {
    const out = BREAKS[m.name].make(r);
    if (typeof out !== "function") return serialize(out, method).bytes;
    const s = serialize(r, method);
    return out(s.bytes, s.finalStart, s.headEnd);
  }
  const { bytes } = serialize(r, method);
  if (m.kind === "valid") return bytes;
  if (m.kind === "cut") return bytes.subarray(0, Math.floor(m.at * bytes.length));
  let b = bytes;
  for (const [kind, where, byte] of m.edits) {
    const at = Math.floor(where * b.length);
    if (kind === "replace" && at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.of(byte), b.subarray(at + 1)]);
    else if (kind === "delete" && at < b.length) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.of(byte), b.subarray(at)]);
  }
  return b;
}

// ------------------------------------------------------------------ the reference's reading of a response

/** What the client must get for one request, from the reference's reading of what the upstream sent. */
type Expect =
  | { kind: "ok"; infos: number[]; msg: RefMessage; extra: boolean; end: number }
  /** Nothing of a final response can have been forwarded: 502. */
  | { kind: "bad-head"; infos: number[]; reason: string }
  /** The head is valid, the body invalid or cut short: the head, then an incomplete message. */
  | { kind: "broken-body"; infos: number[]; status: number; reason: string; prefix: Buffer };

/** Reads the upstream's bytes for a `method` request (`atEof`: the upstream closes after them). */
function expectOf(bytes: Buffer, method: string, atEof: boolean): Expect {
  const infos: number[] = [];
  let p = 0;
  for (;;) {
    const v: Verdict = parseResponse(bytes, p, method, atEof);
    if (v.kind === "ok" && v.msg.status < 200) {
      infos.push(v.msg.status);
      p = v.length;
      continue;
    }
    if (v.kind === "ok") {
      // The proxy allows 32 informational responses; more is a 502.
      if (infos.length > 32) return { kind: "bad-head", infos: infos.slice(0, 32), reason: "too many 1xx" };
      return { kind: "ok", infos, msg: v.msg, extra: v.length < bytes.length, end: v.length };
    }
    if (infos.length > 32) return { kind: "bad-head", infos: infos.slice(0, 32), reason: "too many 1xx" };
    if (v.kind === "invalid" && !v.inBody) return { kind: "bad-head", infos, reason: v.reason };
    if (v.kind === "incomplete" && !v.headDone) return { kind: "bad-head", infos, reason: "closed before the head was complete" };
    const head = parseResponse(headOnly(bytes, p), 0, "HEAD", true);
    const status = head.kind === "ok" ? head.msg.status : 0;
    return { kind: "broken-body", infos, status, reason: v.kind === "invalid" ? v.reason : "cut short", prefix: bodyData(bytes, p) };
  }
}

/** The head at `p` alone. */
function headOnly(bytes: Buffer, p: number): Buffer {
  const e = bytes.indexOf("\r\n\r\n", p);
  return bytes.subarray(p, e + 4);
}

/** The body data (de-chunked) the upstream sent before its body went wrong or stopped: what a client may get of it at most. */
function bodyData(bytes: Buffer, p: number): Buffer {
  const end = bytes.indexOf("\r\n\r\n", p) + 4;
  const te = /\r\ntransfer-encoding:/i.test(bytes.subarray(p, end).toString("latin1"));
  if (!te) return bytes.subarray(end);
  // Chunked: the data of the chunks up to the first bad element, plus what a big chunk may have spliced of it.
  const parts: Buffer[] = [];
  let q = end;
  for (;;) {
    const eol = bytes.indexOf("\r\n", q);
    if (eol < 0) return Buffer.concat(parts);
    const m = /^([0-9A-Fa-f]{1,16})(?:[ \t]*;.*)?$/.exec(bytes.subarray(q, eol).toString("latin1"));
    if (!m) return Buffer.concat(parts);
    const size = parseInt(m[1], 16);
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(eol + 2, eol + 2 + size));
    q = eol + 2 + size;
    if (bytes[q] !== 13 || bytes[q + 1] !== 10) return Buffer.concat(parts);
    q += 2;
  }
}

// ------------------------------------------------------------------ client requests

interface GenRequest {
  method: "GET" | "HEAD" | "POST" | "DELETE";
  version: "HTTP/1.1" | "HTTP/1.0";
  connection: null | "close" | "keep-alive";
}

const REQUEST: fc.Arbitrary<GenRequest> = fc.record({
  method: fc.constantFrom("GET", "GET", "GET", "HEAD", "POST", "DELETE"),
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  connection: fc.constantFrom(null, null, null, null, "close", "keep-alive"),
});

const requestBytes = (r: GenRequest, id: string) => Buffer.from(
  `${r.method} /r/${id} ${r.version}\r\nHost: test.local\r\nX-Fuzz-Id: ${id}\r\n${r.connection === null ? "" : `Connection: ${r.connection}\r\n`}` +
    (r.method === "POST" ? "Content-Length: 5\r\n\r\nhello" : "\r\n"),
  "latin1",
);
const clientKeepAlive = (r: GenRequest) => r.connection !== "close" && (r.version === "HTTP/1.1" || r.connection === "keep-alive");

const SPLITS = fc.record({
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  delays: fc.array(fc.constantFrom(0, 0, 0, 1, 2), { maxLength: 8 }),
});

/** What the upstream does for one request. */
interface Plan {
  bytes: Buffer;
  /** Cuts only before this offset: bytes after a complete response go in the same write as its end. */
  keepEnd: number;
  /** The upstream half-closes after writing. */
  close: boolean;
  splits: { cuts: number[]; delays: number[] };
  expect: Expect;
  arrivals: number;
}

const EXCHANGE = fc.record({
  exchanges: fc.array(fc.record({ req: REQUEST, resp: RESPONSE, mutation: MUTATION, splits: SPLITS, close: fc.boolean() }), { minLength: 1, maxLength: 4 }),
  clientSplits: SPLITS,
  /** The client half-closes once its requests are written (the proxy still answers them all). */
  clientEnds: fc.boolean(),
});

/** Writes `plan.bytes` in pieces (none cut after `keepEnd`), then half-closes when planned. */
async function answer(socket: net.Socket, plan: Plan): Promise<void> {
  const n = plan.bytes.length;
  const cuts = plan.splits.cuts.map((c) => c % (n + 1)).filter((c) => c < plan.keepEnd);
  await writeSplit(socket, plan.bytes, cuts, plan.splits.delays);
  if (socket.writable) await new Promise<void>((r) => socket.write(Buffer.alloc(0), () => r()));
  if (plan.close) socket.end();
}

// ------------------------------------------------------------------ the property

test("fuzz: responses through spliced are forwarded exactly, or answered 502, or cut off visibly", { timeout: 300_000 }, async () => {
  const plans = new Map<string, Plan>();
  const inFlight = new Set<Promise<void>>();
  const upstream = await strictUpstream((msg, conn) => {
    const plan = plans.get(idOf(msg.headers) ?? "");
    if (plan === undefined) return void conn.socket.destroy();
    plan.arrivals++;
    const p = answer(conn.socket, plan);
    inFlight.add(p);
    return p.finally(() => inFlight.delete(p));
  });
  const { proxy, stop } = await startProxy(upstream.port);
  let run = 0;
  const counts: Record<string, number> = { ok: 0, okWithExtra: 0, badHead: 0, brokenBody: 0, brokenBody502: 0, unsure: 0, notReached: 0 };
  try {
    await fuzz("responses", EXCHANGE, async ({ exchanges, clientSplits, clientEnds }) => {
      run++;
      const ids: string[] = [];
      for (const [i, x] of exchanges.entries()) {
        const id = `s${run}-${i}`;
        ids.push(id);
        const bytes = build(x.resp, x.mutation, x.req.method);
        const br = x.mutation.kind === "break" ? BREAKS[x.mutation.name] : undefined;
        const bodyBreak = br?.invalid === "body" && bodiless(x.req.method, 200);
        if (br !== undefined && br.invalid !== false && !bodyBreak) {
          const v = expectOf(bytes, x.req.method, true);
          // Framing fields of a bodiless response (HEAD, 204, 304) are not decided by the reference: unsure.
          if (!(v.kind === "ok" && v.msg.unsure.length > 0)) assert.equal(v.kind, br.invalid === "head" ? "bad-head" : "broken-body", `reference does not reject the ${x.mutation.kind === "break" ? x.mutation.name : ""} break: ${show(bytes)}`);
        }
        const open = expectOf(bytes, x.req.method, false);
        // The upstream closes when the reference needs the end (cut short, close-delimited), never right
        // after a response it keeps alive (that is the pooled-connection race the README's retry handles).
        const reusable = open.kind === "ok" && open.msg.keepAlive && open.msg.framing !== "close" && !open.extra;
        const needsEnd = (open.kind === "broken-body" && open.reason === "cut short") || (open.kind === "bad-head" && open.reason.startsWith("closed"));
        const close = x.mutation.kind === "cut" || needsEnd || (!reusable && x.close);
        const expect = expectOf(bytes, x.req.method, close);
        const keepEnd = expect.kind === "ok" && expect.extra ? expect.end : bytes.length;
        plans.set(id, { bytes, keepEnd, close, splits: x.splits, expect, arrivals: 0 });
        if (process.env.SPLICED_FUZZ_DUMP) console.log(`${id} ${x.mutation.kind === "break" ? x.mutation.name : x.mutation.kind} ${x.req.method} ${expect.kind} ${expect.kind === "ok" ? "" : expect.reason}`);
      }
      const stream = Buffer.concat(exchanges.map((x, i) => requestBytes(x.req, ids[i])));
      // The responses the client can get: up to the first that ends its connection.
      let expected = 0, lastEnds = false;
      for (const x of exchanges) {
        const e = plans.get(ids[expected])!.expect;
        expected++;
        lastEnds = !clientKeepAlive(x.req) || e.kind !== "ok" || e.msg.framing === "close" || (x.req.version === "HTTP/1.0" && e.msg.framing === "chunked") ||
          e.msg.unsure.length > 0;
        if (lastEnds) break;
      }
      const client = await Collector.open(proxy.port);
      const ctx = () => exchanges.slice(0, expected).map((x, i) => {
        const p = plans.get(ids[i])!;
        return `\n#${i} ${x.req.method} ${x.req.version} ${x.req.connection ?? ""} -> upstream sent${p.close ? " (then FIN)" : ""} ${show(p.bytes, 400)}; expect ${p.expect.kind}${p.expect.kind !== "ok" ? ` (${p.expect.reason})` : ""}, arrived ${p.arrivals}x`;
      }).join("") + `\nclient got ${show(client.received, 1200)}${client.error ? ` and ${client.error}` : ""}${client.closed ? " and EOF" : ""}`;
      try {
        await writeSplit(client.socket, stream, clientSplits.cuts, clientSplits.delays);
        if (clientEnds && CLIENT_FIN) client.socket.end();
        const ok = await client.until(() => !lastEnds && readClient(client.received, exchanges, false).finals >= expected, WAIT_MS);
        assert.ok(ok, `no answer in ${WAIT_MS} ms${ctx()}`);
        // The client is done: after its FIN the proxy must end the connection without another byte.
        if (!client.closed) {
          client.socket.end();
          assert.ok(await client.until(() => false, WAIT_MS), `connection not closed after the client's FIN${ctx()}`);
        }
        await Promise.all([...inFlight]);
        check(client, exchanges, ids, plans, expected, counts, ctx);
      } finally {
        client.socket.destroy();
        for (const id of ids) plans.delete(id);
      }
    });
    for (const c of upstream.connections) assert.equal(c.error, undefined, `upstream connection got bytes it cannot parse: ${c.error}`);
    console.log(`responses: ${run} runs, seed ${SEED}, ${JSON.stringify(counts)}`);
  } finally {
    await stop();
    await upstream.close();
  }
});

/** The client's responses: per request its 1xx statuses and final verdict. */
function readClient(received: Buffer, exchanges: { req: GenRequest }[], atEof: boolean): { finals: number; got: { infos: number[]; v: Verdict; start: number }[]; end: number } {
  const got: { infos: number[]; v: Verdict; start: number }[] = [];
  let p = 0, infos: number[] = [];
  while (p < received.length && got.length < exchanges.length) {
    const method = exchanges[got.length].req.method;
    const v = parseResponse(received, p, method, atEof);
    if (v.kind === "ok" && v.msg.status < 200) {
      infos.push(v.msg.status);
      p = v.length;
      continue;
    }
    got.push({ infos, v, start: p });
    infos = [];
    if (v.kind !== "ok") return { finals: got.length - 1, got, end: received.length };
    p = v.length;
  }
  return { finals: got.length, got, end: p };
}

function check(
  client: Collector,
  exchanges: { req: GenRequest }[],
  ids: string[],
  plans: Map<string, Plan>,
  expected: number,
  counts: Record<string, number>,
  ctx: () => string,
): void {
  assert.ok(client.closed, `connection still open${ctx()}`);
  const { got, end } = readClient(client.received, exchanges, true);
  let i = 0;
  for (; i < got.length; i++) {
    const req = exchanges[i].req, plan = plans.get(ids[i])!, e = plan.expect, { infos, v } = got[i];
    const where = `response #${i}`;
    // A request reaches the upstream once; twice only as the retry after a reused connection closed without a byte.
    assert.ok(plan.arrivals === 1 || (plan.arrivals === 2 && plan.bytes.length === 0 && req.method !== "POST"), `${where}: request arrived ${plan.arrivals} times upstream${ctx()}`);
    const http10 = req.version === "HTTP/1.0";
    if (e.kind === "ok") {
      const unsure = e.msg.unsure.length > 0;
      if (unsure && v.kind === "ok" && v.msg.status === 502) {
        counts.unsure++;
        i++;
        break;
      }
      assert.equal(v.kind, "ok", `${where}: the upstream's valid response did not reach the client whole (${v.kind === "invalid" ? v.reason : v.kind})${ctx()}`);
      if (v.kind !== "ok") break;
      counts[e.extra ? "okWithExtra" : "ok"]++;
      assert.equal(v.msg.status, e.msg.status, `${where}: status${ctx()}`);
      assert.equal(hash(v.msg.body), hash(e.msg.body), `${where}: body of ${v.msg.body.length} bytes, the upstream sent ${e.msg.body.length}${ctx()}`);
      if (e.msg.framing === "chunked" && !http10) assert.deepEqual(xTrailers(v.msg.trailers), xTrailers(e.msg.trailers), `${where}: trailers${ctx()}`);
      assert.deepEqual(infos, http10 ? [] : e.infos, `${where}: informational responses${ctx()}`);
      if (clientKeepAlive(req) && v.msg.keepAlive) continue;
      i++;
      break;
    }
    if (e.kind === "bad-head") {
      counts.badHead++;
      assert.equal(v.kind, "ok", `${where}: no 502 for a bad response head (${e.reason}): ${v.kind === "invalid" ? v.reason : v.kind}${ctx()}`);
      if (v.kind === "ok") assert.equal(v.msg.status, 502, `${where}: status for a bad response head (${e.reason})${ctx()}`);
      assert.deepEqual(infos, http10 ? [] : e.infos, `${where}: informational responses${ctx()}`);
      i++;
      break;
    }
    counts.brokenBody++;
    assert.deepEqual(infos, http10 ? [] : e.infos, `${where}: informational responses${ctx()}`);
    if (v.kind === "ok" && v.msg.status === 502 && e.status !== 502) {
      // Found before a byte of the response went out: answered 502 instead.
      counts.brokenBody502++;
    } else if (v.kind === "ok" && http10 && v.msg.framing === "close") {
      // De-chunked for HTTP/1.0: close-delimited, so a cut cannot show; the body is at most what the upstream sent.
      assert.equal(v.msg.status, e.status, `${where}: status${ctx()}`);
      assert.ok(e.prefix.subarray(0, v.msg.body.length).equals(v.msg.body), `${where}: body is not a prefix of what the upstream sent${ctx()}`);
    } else {
      assert.equal(v.kind, "incomplete", `${where}: a response whose body is broken (${e.reason}) reached the client as ${v.kind === "ok" ? "a complete message" : v.kind === "invalid" ? `an invalid one (${v.reason})` : "?"}${ctx()}`);
      // The head went out (whole, or cut by the close), then part of the body at most.
      if (v.kind === "incomplete" && v.headDone) {
        assert.equal(v.msg?.status, e.status, `${where}: status of the cut response${ctx()}`);
        const prefix = v.bodyPrefix ?? Buffer.alloc(0);
        assert.ok(e.prefix.subarray(0, prefix.length).equals(prefix), `${where}: body prefix is not what the upstream sent${ctx()}`);
      }
    }
    i++;
    break;
  }
  assert.ok(i <= expected, `more responses than the reference allows${ctx()}`);
  if (got.length === i) assert.equal(end, client.received.length, `bytes after the last response${ctx()}`);
  else assert.equal(got.length, i, `a response after one that ends the connection${ctx()}`);
  assert.ok(i >= expected || (i === expected - 1 && got.length === i && isUnsureEnd(plans.get(ids[i])!)), `${expected} responses expected, got ${i}${ctx()}`);
  counts.notReached += exchanges.length - i;
}

/** The connection may end without the answer to a request whose expected answer is unsure. */
const isUnsureEnd = (p: Plan) => p.expect.kind === "ok" && p.expect.msg.unsure.length > 0;

// ------------------------------------------------------------------ regressions found by the fuzz test

/** One GET through spliced to an upstream that answers with `pieces` (written with a pause between them): what the client got. */
async function oneExchange(pieces: string[], method = "GET"): Promise<Collector> {
  const upstream = await strictUpstream(async (_msg, conn) => {
    for (const [i, p] of pieces.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      conn.socket.write(Buffer.from(p, "latin1"));
    }
  });
  const { proxy, stop } = await startProxy(upstream.port);
  try {
    const client = await Collector.open(proxy.port);
    client.socket.write(`${method} / HTTP/1.1\r\nHost: test.local\r\n\r\n`);
    assert.ok(await client.until(() => false, WAIT_MS), `connection not closed; got ${show(client.received)}`);
    return client;
  } finally {
    await stop();
    await upstream.close();
  }
}

// Found by the fuzz test: a chunked response that arrived whole with a bad first chunk (or bad trailers)
// was detected before any byte of it was written to the client, and the client got a bare close
// instead of the README's 502.
for (const [name, body] of [["chunk data too long", "5\r\nhelloXX\r\n0\r\n\r\n"], ["bad chunk line", "5 \r\nhello\r\n0\r\n\r\n"], ["NUL in a trailer", "0\r\nX-T1: a\x00\r\n\r\n"]]) {
  test(`response: a chunked body with ${name} that arrives with its head is a 502, not a bare close`, { timeout: 30_000 }, async () => {
    const client = await oneExchange([`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`]);
    const v = parseResponse(client.received, 0, "GET", true);
    assert.equal(v.kind, "ok", `client got ${show(client.received)}`);
    if (v.kind === "ok") assert.equal(v.msg.status, 502, `client got ${show(client.received)}`);
  });
}

test("response: a chunked body that breaks after its head went out ends the connection mid-message", { timeout: 30_000 }, async () => {
  const client = await oneExchange(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "5\r\nhelloXX\r\n0\r\n\r\n"]);
  const v = parseResponse(client.received, 0, "GET", true);
  assert.equal(v.kind, "incomplete", `client got ${show(client.received)}`);
  if (v.kind === "incomplete") {
    assert.equal(v.msg?.status, 200);
    assert.equal(v.bodyPrefix?.toString(), "abc");
  }
});

/**
 * `tries` clients at once, each writing `stream` and its FIN together, to an upstream that answers each
 * request after `delayMs` with a 2-byte 200: the clients, and which of them saw the end of the connection
 * within 5 s (the idle timeout is far longer).
 */
async function halfClosed(stream: string, delayMs: number, tries = 40): Promise<{ client: Collector; closed: boolean }[]> {
  const upstream = await strictUpstream(async (_msg, conn) => {
    await new Promise((r) => setTimeout(r, delayMs));
    conn.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  const { proxy, stop } = await startProxy(upstream.port);
  try {
    return await Promise.all(Array.from({ length: tries }, async () => {
      const client = await Collector.open(proxy.port);
      client.socket.end(stream);
      return { client, closed: await client.until(() => false, 5_000) };
    }));
  } finally {
    await stop();
    await upstream.close();
  }
}

test("response: a client that half-closes after its request gets the response and then the end of the connection", { timeout: 30_000 }, async () => {
  for (const delayMs of [0, 50]) {
    for (const { client, closed } of await halfClosed("GET / HTTP/1.1\r\nHost: test.local\r\n\r\n", delayMs)) {
      assert.match(client.received.toString("latin1"), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/, `upstream delay ${delayMs} ms`);
      assert.ok(closed, `connection still open 5 s after the response (client FIN already sent; upstream delay ${delayMs} ms)`);
    }
  }
});

// Found by the fuzz test (client FIN after pipelined requests): InBuffer.fill takes a short read
// for "drained" and clears readiness, but a FIN that arrived with the data raises no new epoll edge,
// so once the buffered requests are answered the session waits for an event that never comes
// (until the idle timeout). Timing-dependent: 40 clients at once make it show nearly every run here.
test("response: pipelined requests followed by the client's FIN are all answered, then the connection ends", { timeout: 30_000 }, async () => {
  for (const delayMs of [0, 50]) {
    const all = await halfClosed("GET /1 HTTP/1.1\r\nHost: test.local\r\n\r\nPOST /2 HTTP/1.1\r\nHost: test.local\r\nContent-Length: 1\r\n\r\nxGET /3 HTTP/1.1\r\nHost: test.local\r\n\r\n", delayMs);
    for (const { client } of all) {
      const n = client.received.toString("latin1").split("HTTP/1.1 200 OK").length - 1;
      assert.equal(n, 3, `responses to 3 pipelined requests (upstream delay ${delayMs} ms): got ${show(client.received)}`);
    }
    const open = all.filter((c) => !c.closed).length;
    assert.equal(open, 0, `${open} of ${all.length} connections still open 5 s after their responses, the client's FIN long sent (upstream delay ${delayMs} ms)`);
  }
});
