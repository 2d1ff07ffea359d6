/**
 * Fuzzing the HTTP data plane end to end (issue 10, "Proof that it holds"):
 * generated valid requests and responses, structured mutations (bare LF/CR,
 * conflicting framing, obs-fold, CTL bytes, long heads, bad chunk lines,
 * bad versions...) and random byte mutations, written in random pieces with
 * small random pauses, through a real spliced (`http`, one worker) to a
 * strict upstream. An independent reference parser (test/helpers/strict_http.ts)
 * decides what each message is; the properties:
 *
 * - requests: a message the reference rejects is never forwarded (the
 *   upstream never gets a complete message of it, nor bytes that break its
 *   strict parse) and its client gets a 4xx/5xx and a closed connection; a
 *   forwarded message arrives exactly once, in order, with the same method,
 *   normalised target and body (by hash), framed so that the strict upstream
 *   parses it; the client gets the upstream's response body exactly;
 * - responses: the client gets the upstream's status and body exactly,
 *   strictly framed, or (for a response the reference rejects or that ends
 *   early) a 502 or a connection that ends without a complete response.
 *
 * Bounded: SPLICED_FUZZ_RUNS runs per property (default 120), seed from
 * SPLICED_FUZZ_SEED (printed on failure for a re-run).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { tempDir, writeConfig } from "./helpers/http.ts";
import { startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import {
  Collector,
  expectedTarget,
  type Field,
  hash,
  parseRequest,
  parseResponse,
  type RefMessage,
  strictUpstream,
  type StrictUpstream,
  type Verdict,
  writeSplit,
} from "./helpers/strict_http.ts";

const RUNS = Number(process.env.SPLICED_FUZZ_RUNS ?? 120);
const SEED = process.env.SPLICED_FUZZ_SEED !== undefined ? Number(process.env.SPLICED_FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
/** How long one run may wait for the proxy (a hang is a failure, not a pass). */
const WAIT_MS = 10_000;

/** Replays one failing case: the `path` fast-check printed with the seed. */
const PATH = process.env.SPLICED_FUZZ_PATH;

/** Runs `property` with the fuzz seed; a failure names the seed (and path) to reproduce it, without the huge counterexample. */
async function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>): Promise<void> {
  const out = await fc.check(fc.asyncProperty(arb, check), { seed: SEED, path: PATH, endOnFailure: PATH !== undefined, numRuns: RUNS, interruptAfterTimeLimit: 120_000 });
  if (!out.failed) return;
  const e = out.errorInstance as Error | undefined;
  throw new Error(
    `${name}: failed after ${out.numRuns} runs (shrunk ${out.numShrinks} times); reproduce with SPLICED_FUZZ_SEED=${SEED} SPLICED_FUZZ_PATH=${out.counterexamplePath}\n${e?.message ?? String(e)}`,
  );
}

/** Starts spliced with one http listener in front of `upstreamPort`. */
async function startProxy(upstreamPort: number): Promise<{ proxy: SplicedProcess; stop: () => Promise<void> }> {
  const tmp = tempDir("spliced-fuzz-");
  const path = writeConfig(tmp.dir, {
    workers: 1, gracePeriod: "1s", admin: { listen: "127.0.0.1:0" },
    listeners: [{ name: "web", mode: "http", listen: "127.0.0.1:0", upstreamTimeout: "5s", routes: [{ upstreams: [`127.0.0.1:${upstreamPort}`] }] }],
  });
  const proxy = await startSpliced(["--config", path]);
  return { proxy, stop: async () => void (await proxy.stop(), tmp.remove()) };
}

const idOf = (headers: Field[]) => headers.find(([n]) => n.toLowerCase() === "x-fuzz-id")?.[1];
const show = (b: Buffer, n = 300) => JSON.stringify(b.subarray(0, n).toString("latin1"));

// ------------------------------------------------------------------ generators

const TOKEN = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const VALUE = fc.stringMatching(/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,40}[\x21-\x7e\x80-\xff])?$/);
const OWS = fc.constantFrom("", "", " ", "  ", "\t", " \t");
const recase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length })
  .map((f) => [...s].map((c, i) => (f[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

/** Targets and how the README says they are forwarded (all valid). */
const TARGETS = fc.oneof(
  fc.constantFrom("/", "/a/./b", "/a/../b", "/../x", "/%61pi/%7Eu", "/a%2fb", "/a/b/..", "//x", "/x?q=/../y&%zz", "/p?", "http://test.local/p?q", "http://TEST.local", "/%41%2a"),
  fc.tuple(fc.array(fc.stringMatching(/^[A-Za-z0-9_~-]{0,8}$/), { maxLength: 4 }), fc.option(fc.stringMatching(/^[A-Za-z0-9=&/._~%-]{0,20}$/)))
    .map(([segs, q]) => `/${segs.join("/")}${q === null ? "" : `?${q}`}`),
);

/** One chunk: data, how its size is written, its extensions. */
const CHUNK = fc.record({
  data: fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 3000, maxLength: 12000 }) }),
  hex: fc.constantFrom("lower", "upper", "zeros"),
  ext: fc.constantFrom("", "", "", ";a", ";a=b", " ; x = y", ";q=\"v a\\\"l\"", ";a;b=c", "\t;n=\"\""),
});

type Body = { kind: "none" } | { kind: "length"; data: Uint8Array; value: string } | { kind: "chunked"; chunks: { data: Uint8Array; hex: string; ext: string }[]; last: string; trailers: string[] };

const BODY: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: "none" } as Body),
  fc.tuple(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom("n", "n", "0n", "n, n", "n,n"))
    .map(([data, form]) => ({ kind: "length", data, value: form.replaceAll("n", String(data.length)) } as Body)),
  fc.record({
    chunks: fc.array(CHUNK, { maxLength: 5 }),
    last: fc.constantFrom("0", "0", "000", "0;end=1"),
    trailers: fc.array(fc.tuple(fc.constantFrom("X-T1", "X-T2", "x-checksum"), VALUE).map(([n, v]) => `${n}: ${v}`), { maxLength: 2 }),
  }).map((r) => ({ kind: "chunked", ...r } as Body)),
);

interface GenRequest {
  method: string;
  target: string;
  version: string;
  /** Field lines before and after the id and framing fields. */
  before: string[];
  after: string[];
  host: string | null;
  teName: string;
  clName: string;
  body: Body;
  connection: string | null;
}

const REQUEST: fc.Arbitrary<GenRequest> = fc.record({
  method: fc.constantFrom("GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PURGE"),
  target: TARGETS,
  version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  before: fc.array(fc.tuple(TOKEN, OWS, VALUE, OWS).map(([n, a, v, b]) => `X-${n}:${a}${v}${b}`), { maxLength: 3 }),
  after: fc.array(fc.tuple(fc.constantFrom("Accept", "User-Agent", "X-Long", "Cookie"), fc.oneof(VALUE, fc.constant("v".repeat(3000)))).map(([n, v]) => `${n}: ${v}`), { maxLength: 3 }),
  host: fc.constantFrom("test.local", "test.local", "test.local:8080", "127.0.0.1", "[::1]:80"),
  teName: recase("Transfer-Encoding"),
  clName: recase("Content-Length"),
  body: BODY,
  connection: fc.constantFrom(null, null, null, "close", "keep-alive", "Keep-Alive, x-foo"),
}).map((r) => {
  // An HTTP/1.0 request has no chunked body; absolute-form names the Host it is sent with.
  if (r.version === "HTTP/1.0" && r.body.kind === "chunked") r.body = { kind: "none" };
  if (r.target.startsWith("http://")) r.host = "test.local";
  return r;
});

/** Serialises a request: the bytes and where its id line is (byte mutations leave it alone). */
function serialize(r: GenRequest, id: string): { bytes: Buffer; idStart: number; idEnd: number } {
  const lines = [`${r.method} ${r.target} ${r.version}`];
  if (r.host !== null) lines.push(`Host: ${r.host}`);
  lines.push(...r.before);
  const idLine = `X-Fuzz-Id: ${id}`;
  lines.push(idLine);
  if (r.body.kind === "length") lines.push(`${r.clName}: ${r.body.value}`);
  if (r.body.kind === "chunked") lines.push(`${r.teName}: chunked`);
  if (r.connection !== null) lines.push(`Connection: ${r.connection}`);
  lines.push(...r.after);
  const head = `${lines.join("\r\n")}\r\n\r\n`;
  const idStart = head.indexOf(idLine);
  const parts: Buffer[] = [Buffer.from(head, "latin1")];
  if (r.body.kind === "length") parts.push(Buffer.from(r.body.data));
  if (r.body.kind === "chunked") {
    for (const c of r.body.chunks) {
      const n = c.data.length.toString(16);
      const size = c.hex === "upper" ? n.toUpperCase() : c.hex === "zeros" ? `00${n}` : n;
      parts.push(Buffer.from(`${size}${c.ext}\r\n`, "latin1"), Buffer.from(c.data), Buffer.from("\r\n"));
    }
    parts.push(Buffer.from(`${r.body.last}\r\n${r.body.trailers.map((t) => `${t}\r\n`).join("")}\r\n`, "latin1"));
  }
  return { bytes: Buffer.concat(parts), idStart, idEnd: idStart + idLine.length + 2 };
}

/** Structured ways to make a request invalid: each must be rejected by the reference too. */
const BREAKS: Record<string, (r: GenRequest) => GenRequest | ((b: Buffer, headEnd: number) => Buffer)> = {
  bareLF: () => (b, end) => {
    const at = b.lastIndexOf("\r\n", end - 5);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  },
  bareCR: () => (b, end) => {
    const at = b.indexOf("\r\n");
    return end > 0 ? Buffer.concat([b.subarray(0, at + 1), Buffer.from("X"), b.subarray(at + 1)]) : b;
  },
  conflictingCL: (r) => ({ ...r, body: { kind: "length", data: Buffer.from("hello"), value: "5" }, after: [...r.after, "Content-Length: 6"] }),
  conflictingCLList: (r) => ({ ...r, body: { kind: "length", data: Buffer.from("hello"), value: "5, 6" } }),
  teAndCL: (r) => ({ ...r, version: "HTTP/1.1", body: { kind: "chunked", chunks: [], last: "0", trailers: [] }, after: [...r.after, "Content-Length: 5"] }),
  teNotChunked: (r) => ({ ...r, version: "HTTP/1.1", body: { kind: "chunked", chunks: [], last: "0", trailers: [] }, teName: "Transfer-Encoding: gzip,\r\nTransfer-Encoding" }),
  teChunkedTwice: (r) => ({ ...r, version: "HTTP/1.1", body: { kind: "chunked", chunks: [], last: "0", trailers: [] }, after: [...r.after, "Transfer-Encoding: chunked"] }),
  teInHttp10: (r) => ({ ...r, version: "HTTP/1.0", body: { kind: "chunked", chunks: [], last: "0", trailers: [] } }),
  obsFold: (r) => ({ ...r, before: [...r.before, "X-Folded: a", " b"] }),
  spaceBeforeColon: (r) => ({ ...r, before: [...r.before, "X-Space : 1"] }),
  nulInValue: (r) => ({ ...r, after: [...r.after, "X-Nul: a\x00b"] }),
  ctlInValue: (r) => ({ ...r, after: [...r.after, "X-Ctl: a\x01b"] }),
  delInValue: (r) => ({ ...r, after: [...r.after, "X-Del: a\x7fb"] }),
  nulInName: (r) => ({ ...r, after: [...r.after, "X-N\x00ul: a"] }),
  longHead: (r) => ({ ...r, after: [...r.after, `X-Long: ${"a".repeat(20_000)}`] }),
  badMethod: (r) => ({ ...r, method: "G(T" }),
  emptyMethod: (r) => ({ ...r, method: "" }),
  badVersion2: (r) => ({ ...r, version: "HTTP/2.0" }),
  badVersion12: (r) => ({ ...r, version: "HTTP/1.2" }),
  lowerVersion: (r) => ({ ...r, version: "http/1.1" }),
  versionJunk: (r) => ({ ...r, version: "HTTP/1.1x" }),
  doubleSpace: (r) => ({ ...r, target: ` ${r.target}` }),
  noHost: (r) => ({ ...r, version: r.body.kind === "chunked" ? r.version : "HTTP/1.1", host: null }),
  twoHosts: (r) => ({ ...r, after: [...r.after, "Host: other.local"] }),
  badCL: (r) => ({ ...r, body: { kind: "length", data: Buffer.from("hello"), value: "+5" } }),
  negativeCL: (r) => ({ ...r, body: { kind: "length", data: Buffer.alloc(0), value: "-1" } }),
  trailingCommaCL: (r) => ({ ...r, body: { kind: "length", data: Buffer.from("hello"), value: "5," } }),
  spaceInCL: (r) => ({ ...r, body: { kind: "length", data: Buffer.from("hello"), value: "1 2" } }),
  encodedDots: (r) => ({ ...r, target: "/api/%2e%2e/x" }),
  badEscape: (r) => ({ ...r, target: "/a%zzb" }),
  fragment: (r) => ({ ...r, target: "/a#b" }),
  badChunkSize: (r) => chunkedWith(r, "g\r\nhello\r\n"),
  negativeChunkSize: (r) => chunkedWith(r, "-5\r\nhello\r\n"),
  hexPrefixChunkSize: (r) => chunkedWith(r, "0x5\r\nhello\r\n"),
  longChunkSize: (r) => chunkedWith(r, "00000000000000005\r\nhello\r\n"),
  bareLFChunk: (r) => chunkedWith(r, "5\nhello\r\n"),
  badChunkExt: (r) => chunkedWith(r, "5;a=\"b\r\nhello\r\n"),
  chunkTooLong: (r) => chunkedWith(r, "5\r\nhelloXX\r\n"),
  chunkTooShort: (r) => chunkedWith(r, "5\r\nhell\r\n"),
  badTrailer: (r) => ({ ...chunkedWith(r, ""), body: { kind: "chunked", chunks: [], last: "0", trailers: ["X-T : v"] } }),
};

/** `r` as HTTP/1.1 chunked whose first chunk is `raw` (a chunk line and data, written as is). */
function chunkedWith(r: GenRequest, raw: string): GenRequest {
  return { ...r, version: "HTTP/1.1", host: r.host ?? "test.local", body: { kind: "chunked", chunks: [], last: `${raw}0`, trailers: [] } };
}

const BYTES = [0x0d, 0x0a, 0x00, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x7f, 0x80, 0x61, 0x30, 0x66, 0x22, 0x5c];
/** 1-3 byte edits: [kind, position (scaled), byte]. */
const EDITS = fc.array(fc.tuple(fc.constantFrom("replace", "insert", "delete"), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.constantFrom(...BYTES)), { minLength: 1, maxLength: 3 });

type Mutation = { kind: "valid" } | { kind: "break"; name: string } | { kind: "edit"; edits: [string, number, number][] };

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: "valid" } as Mutation) },
  { weight: 3, arbitrary: fc.constantFrom(...Object.keys(BREAKS)).map((name) => ({ kind: "break", name } as Mutation)) },
  { weight: 3, arbitrary: EDITS.map((edits) => ({ kind: "edit", edits } as Mutation)) },
);

/** The bytes of one generated request with its mutation applied. */
function build(r: GenRequest, m: Mutation, id: string): Buffer {
  if (m.kind === "break") {
    const out = BREAKS[m.name](r);
    if (typeof out === "function") {
      const s = serialize(r, id).bytes;
      return out(s, s.indexOf("\r\n\r\n") + 4);
    }
    return serialize(out, id).bytes;
  }
  const { bytes, idStart, idEnd } = serialize(r, id);
  if (m.kind === "valid") return bytes;
  let b = bytes, lo = idStart, hi = idEnd;
  for (const [kind, where, byte] of m.edits) {
    const span = b.length - (hi - lo);
    let at = Math.floor(where * span);
    if (at >= lo) at += hi - lo;
    if (kind === "replace" && at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.of(byte), b.subarray(at + 1)]);
    else if (kind === "delete" && at < b.length) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.of(byte), b.subarray(at)]);
    if (kind === "insert" && at < lo) (lo++, hi++);
    if (kind === "delete" && at < lo) (lo--, hi--);
  }
  return b;
}

const SPLITS = fc.record({
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
  delays: fc.array(fc.constantFrom(0, 0, 0, 1, 2), { maxLength: 10 }),
});

// ------------------------------------------------------------------ requests

/** What the strict upstream received for one id, in arrival order. */
interface Arrival {
  id: string | undefined;
  msg: RefMessage;
  responseBody: Buffer;
}

/** The upstream's answer to a request: a body derived from its id (length 0-1999), CL or chunked. */
function answerFor(id: string | undefined, method: string): { bytes: Buffer; body: Buffer } {
  const seed = hash(Buffer.from(id ?? "none"));
  const n = parseInt(seed.slice(0, 4), 16) % 2000;
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = seed.charCodeAt(i % 16) ^ (i * 31);
  const chunked = parseInt(seed[5], 16) % 3 === 0;
  const noBody = method === "HEAD";
  if (chunked) {
    const data = noBody ? "" : `${n.toString(16)}\r\n${body.toString("latin1")}\r\n`.replace(/^0\r\n\r\n$/, "");
    return { bytes: Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${noBody ? "" : `${n > 0 ? data : ""}0\r\n\r\n`}`, "latin1"), body: noBody ? Buffer.alloc(0) : body };
  }
  return { bytes: Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`), noBody ? Buffer.alloc(0) : body]), body: noBody ? Buffer.alloc(0) : body };
}

const EXCHANGE = fc.record({
  requests: fc.array(fc.tuple(REQUEST, MUTATION), { minLength: 1, maxLength: 4 }),
  splits: SPLITS,
});

test("fuzz: requests through spliced are rejected whole or forwarded framed the same way", { timeout: 300_000 }, async () => {
  const arrivals: Arrival[] = [];
  const upstream = await strictUpstream((msg, conn) => {
    const id = idOf(msg.headers);
    const a = answerFor(id, msg.method);
    arrivals.push({ id, msg, responseBody: a.body });
    conn.socket.write(a.bytes);
  });
  const { proxy, stop } = await startProxy(upstream.port);
  let run = 0;
  const counts = { forwarded: 0, rejected: 0, incomplete: 0 };
  try {
    await fuzz("requests", EXCHANGE, async ({ requests, splits }) => {
      run++;
      const stream = Buffer.concat(requests.map(([r, m], i) => build(r, m, `r${run}-${i}`)));
      for (const [[r, m], i] of requests.map((x, i) => [x, i] as const)) {
        if (m.kind !== "break") continue;
        const v = parseRequest(build(r, m, `r${run}-${i}`), 0, true);
        assert.equal(v.kind, "invalid", `reference accepts the ${m.name} break: ${show(build(r, m, "x"))}`);
      }
      if (process.env.SPLICED_FUZZ_DUMP) (await import("node:fs")).appendFileSync(process.env.SPLICED_FUZZ_DUMP, JSON.stringify({ stream: stream.toString("base64"), splits }) + "\n");
      const refs = referenceWalk(stream);
      const last = refs[refs.length - 1];
      const before = arrivals.length;
      const client = await Collector.open(proxy.port);
      try {
        await writeSplit(client.socket, stream, splits.cuts, splits.delays);
        if (last.kind === "incomplete") client.socket.end();
        const waitsForClose = last.kind !== "ok" || !last.msg.keepAlive;
        const ok = await client.until(() => !waitsForClose && countResponses(client.received, refs) >= refs.length, WAIT_MS);
        assert.ok(ok, `no answer in ${WAIT_MS} ms (got ${show(client.received)}) to ${show(stream, 600)}`);
        await settle(upstream);
        const fresh = arrivals.slice(before);
        checkRequests(stream, refs, fresh, client, upstream, counts);
      } finally {
        client.socket.destroy();
      }
    });
    // Everything the upstream ever received parses strictly, and no connection was left holding half a request.
    for (const c of upstream.connections) assert.equal(c.error, undefined, `upstream connection got bytes it cannot parse: ${c.error}`);
    console.log(`requests: ${run} runs, seed ${SEED}, messages forwarded ${counts.forwarded}, rejected ${counts.rejected}, cut short ${counts.incomplete}`);
  } finally {
    await stop();
    await upstream.close();
  }
});

/** The method a rejected request was sent with. */
const methods = new WeakMap<Verdict, string>();
/** The method a request with a malformed or refused head was sent with. */
const sentMethods = new WeakMap<Verdict, string>();

/** The reference's reading of the client's byte stream: messages up to the first that ends the connection. */
function referenceWalk(stream: Buffer): Verdict[] {
  const out: Verdict[] = [];
  let p = 0;
  for (;;) {
    const v = parseRequest(stream, p, false);
    // The method of a request rejected for its body still decides whether its answer has a body (HEAD);
    // one whose head is malformed was not understood, and its error answer has a body.
    // Between the two (a well-formed head refused for its target or Host), either form is right.
    const sent = /^(?:\r\n)*([^ \r\n]*)/.exec(stream.subarray(p, p + 64).toString("latin1"))![1];
    if ((v.kind === "invalid" && v.inBody) || (v.kind === "incomplete" && v.headDone)) methods.set(v, sent);
    else if (v.kind !== "ok") sentMethods.set(v, sent);
    out.push(v);
    if (v.kind !== "ok" || !v.msg.keepAlive) return out;
    p = v.length;
    if (p >= stream.length) return out;
  }
}

/** Complete responses in what the client received (methods from the reference's requests). */
function countResponses(received: Buffer, refs: Verdict[]): number {
  return clientResponses(received, refs, false).responses.length;
}

function clientResponses(received: Buffer, refs: Verdict[], atEof: boolean): { responses: RefMessage[]; rest: Verdict | undefined } {
  const responses: RefMessage[] = [];
  let p = 0;
  while (p < received.length) {
    const ref = refs[responses.length];
    const method = ref === undefined ? "GET" : ref.kind === "ok" ? ref.msg.method : methods.get(ref) ?? "GET";
    let v = parseResponse(received, p, method, atEof);
    if (v.kind !== "ok" && atEof && ref !== undefined && sentMethods.get(ref) === "HEAD") v = parseResponse(received, p, "HEAD", atEof);
    if (v.kind !== "ok") return { responses, rest: v };
    if (v.msg.status >= 100 && v.msg.status < 200) {
      p = v.length;
      continue;
    }
    responses.push(v.msg);
    p = v.length;
  }
  return { responses, rest: undefined };
}

/** Lets the upstream see what is in flight to it, and waits (bounded) until a connection holding half a request is closed. */
async function settle(upstream: StrictUpstream): Promise<void> {
  await new Promise((r) => setTimeout(r, 5));
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && upstream.connections.some((c) => !c.closed && pendingBytes(c) > 0)) await new Promise((r) => setTimeout(r, 10));
}

/** Bytes after the last complete request on an upstream connection. */
function pendingBytes(c: { received: Buffer; requests: RefMessage[] }): number {
  let p = 0;
  for (let i = 0; i < c.requests.length; i++) {
    const v = parseRequest(c.received, p, false);
    if (v.kind !== "ok") break;
    p = v.length;
  }
  return c.received.length - p;
}

const CLIENT_ERRORS = new Set([400, 408, 413, 414, 431, 501, 505]);

function checkRequests(
  stream: Buffer,
  refs: Verdict[],
  fresh: Arrival[],
  client: Collector,
  upstream: StrictUpstream,
  counts: { forwarded: number; rejected: number; incomplete: number },
): void {
  const ctx = () => `\nclient sent ${show(stream, 800)}\nclient got ${show(client.received, 400)}${client.error ? ` and ${client.error}` : ""}\nupstream got ${JSON.stringify(fresh.map((a) => `${a.msg.method} ${a.msg.target} ${a.id}`))}`;
  const got = clientResponses(client.received, refs, client.closed);
  let u = 0;
  for (let i = 0; i < refs.length; i++) {
    const v = refs[i];
    if (v.kind === "ok") {
      const id = idOf(v.msg.headers);
      assert.ok(id !== undefined, `reference found a request without an id${ctx()}`);
      const a = fresh.find((x) => x.id === id);
      if (a !== undefined) {
        counts.forwarded++;
        assert.equal(fresh[u], a, `request ${id} forwarded out of order or twice${ctx()}`);
        u++;
        assert.equal(a.msg.method, v.msg.method, `method${ctx()}`);
        const target = expectedTarget(v.msg.target, v.msg.headers.find(([n]) => n.toLowerCase() === "host")?.[1]);
        if (typeof target === "string") assert.equal(a.msg.target, target, `forwarded target${ctx()}`);
        assert.equal(hash(a.msg.body), hash(v.msg.body), `request ${id} body: upstream got ${a.msg.body.length} bytes, client sent ${v.msg.body.length}${ctx()}`);
        const xt = (t: Field[]) => t.filter(([n]) => /^x-t\d$/i.test(n)).map(([n, val]) => `${n.toLowerCase()}: ${val}`);
        assert.deepEqual(xt(a.msg.trailers), xt(v.msg.trailers), `trailers${ctx()}`);
        const resp = got.responses[i];
        assert.ok(resp !== undefined, `no response to forwarded request ${id}${ctx()}`);
        assert.equal(resp.status, 200, `status of forwarded request ${id}${ctx()}`);
        assert.equal(hash(resp.body), hash(a.responseBody), `response body of ${id}: ${resp.body.length} bytes, upstream sent ${a.responseBody.length}${ctx()}`);
        // The connection ends after a request without keep-alive, or a response that ends it (a chunked
        // response to an HTTP/1.0 client goes out close-delimited).
        if (v.msg.keepAlive && resp.keepAlive) continue;
        assert.ok(client.closed, `connection closed after a request or response without keep-alive${ctx()}`);
        assert.equal(got.responses.length, i + 1, `responses after the last one${ctx()}`);
        break;
      }
      assert.ok(v.msg.unsure.length > 0, `valid request ${id} was not forwarded${ctx()}`);
    }
    if (v.kind === "incomplete") {
      counts.incomplete++;
      assert.ok(client.closed, `connection closed after the client's EOF mid-request${ctx()}`);
      if (got.responses.length > i) assert.ok(CLIENT_ERRORS.has(got.responses[i].status), `answer to a request cut short${ctx()}`);
    } else {
      counts.rejected++;
      const resp = got.responses[i];
      assert.ok(resp !== undefined, `no error response to a rejected request (${v.kind === "invalid" ? v.reason : "unsure"})${ctx()}`);
      assert.ok(CLIENT_ERRORS.has(resp.status), `status ${resp.status} for a rejected request (${v.kind === "invalid" ? v.reason : "unsure"})${ctx()}`);
      assert.ok(client.closed, `connection closed after the error${ctx()}`);
    }
    assert.equal(got.responses.length, Math.min(i + 1, got.responses.length), `responses after the error${ctx()}`);
    break;
  }
  assert.equal(u, fresh.length, `upstream got requests the reference did not forward${ctx()}`);
  for (const c of upstream.connections) {
    assert.equal(c.error, undefined, `upstream cannot parse what it got: ${c.error}${ctx()}`);
    if (pendingBytes(c) > 0) assert.ok(c.closed, `upstream connection left open with half a request${ctx()}`);
  }
  if (got.rest !== undefined && client.closed) {
    assert.notEqual(got.rest.kind, "invalid", `client got a malformed response: ${got.rest.kind === "invalid" ? got.rest.reason : ""}${ctx()}`);
  }
}
