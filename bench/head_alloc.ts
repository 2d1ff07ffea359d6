/**
 * Micro-benchmark: parse + rewrite one realistic request head and one
 * response head 100,000 times, on the string path (parseRequestHead +
 * upstreamRequestHead + encodeLatin1, as the data plane does today) and on
 * the byte path (src/http/wire: one reused view, one reused output buffer).
 *
 *   node_modules/.bin/deno run -A bench/head_alloc.ts
 *   node_modules/.bin/bun bench/head_alloc.ts
 *
 * Prints a markdown table: ns per operation (median of 5 timed runs), bytes
 * allocated per operation, and collections seen during one run. Deno (V8):
 * bytes from `total_allocated_bytes`, collections as drops of the used heap
 * size. Bun (JSC): no allocation counter exists (`heapSize()` and
 * `heapStats()` change only when a collection runs), so bytes/op is "n/a"
 * and collections are counted as changes of `heapSize()`. Both sampled every
 * 500 operations; the sampling itself allocates a little on V8.
 *
 * @module
 */
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { encodeLatin1 } from "../src/http/chars.ts";
import { DEFAULT_LIMITS, HeadScan } from "../src/http/head.ts";
import { parseRequestHead } from "../src/http/request.ts";
import { parseResponseHead } from "../src/http/response.ts";
import { clientResponseHead, clientResponsePlan, upstreamRequestHead, type UpstreamRequestOptions } from "../src/http/rewrite.ts";
import {
  compileRequestOptions,
  compileResponseOptions,
  parseRequestInto,
  parseResponseInto,
  RequestView,
  responsePlan,
  ResponseView,
  writeClientResponse,
  writeUpstreamRequest,
} from "../src/http/wire/mod.ts";

const OPS = 100_000;
const RUNS = 5;
const SAMPLE_EVERY = 500;

const lines = (...l: string[]) => l.map((x) => `${x}\r\n`).join("") + "\r\n";

const REQUEST = (path: string) =>
  lines(
    `GET ${path} HTTP/1.1`,
    "Host: api.example.com",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Accept: application/json, text/plain, */*",
    "Accept-Language: en-US,en;q=0.9",
    "Accept-Encoding: gzip, deflate, br",
    "Connection: keep-alive",
    "Referer: https://app.example.com/dashboard",
    "Cookie: session=abcdef0123456789abcdef0123456789; theme=dark; _ga=GA1.2.1234567890.1234567890",
    "X-Request-Id: 3f1c2a9e-7b4d-4e8a-9c1f-2d3e4f5a6b7c",
  );

const RESPONSE = lines(
  "HTTP/1.1 200 OK",
  "Date: Tue, 01 Dec 2026 12:00:00 GMT",
  "Server: nginx/1.27.0",
  "Content-Type: application/json; charset=utf-8",
  "Content-Length: 1234",
  "Connection: keep-alive",
  "Cache-Control: no-cache, private",
  'ETag: "5f3a-1234567890"',
  "Vary: Accept-Encoding",
  "X-Frame-Options: SAMEORIGIN",
  "Set-Cookie: csrftoken=abcdef0123456789; Path=/; SameSite=Lax",
);

const UP: UpstreamRequestOptions = {
  clientAddress: "192.168.1.20",
  proto: "http",
  viaName: "spliced",
  setHeaders: { "X-Route": "api" },
  removeHeaders: ["x-debug"],
  pathPrefixStrip: "/api",
};
const DOWN_EDITS = { viaName: "spliced", setHeaders: { "X-Content-Type-Options": "nosniff" }, removeHeaders: ["server"] };

const reqBytes = encodeLatin1(REQUEST("/api/v1/users/12345?include=profile&fields=name,email"));
const varied = [0, 1, 2, 3].map((i) => encodeLatin1(REQUEST(`/api/v1/users/${12345 + i}?include=profile`)));
const respBytes = encodeLatin1(RESPONSE);
/** Results are folded in here so no work is dead code; kept small (a Smi) so that adding to it allocates nothing on V8. */
let sink = 0;
const keep = (x: number) => {
  sink = (sink + x) & 0xffff;
};

// ---------------------------------------------------------------- the cases

const scan = new HeadScan();

function oldRequest(buf: Uint8Array): void {
  const r = parseRequestHead(buf, 0, buf.length, DEFAULT_LIMITS, scan);
  if (r.kind !== "ok") throw new Error("bench request does not parse");
  keep(encodeLatin1(upstreamRequestHead(r.head, UP)).length + r.head.target.length);
}

function oldResponse(buf: Uint8Array): void {
  const r = parseResponseHead(buf, 0, buf.length, DEFAULT_LIMITS, "GET", scan);
  if (r.kind !== "ok") throw new Error("bench response does not parse");
  const plan = clientResponsePlan(r.head, { clientVersion: "HTTP/1.1", keepAlive: true });
  keep(encodeLatin1(clientResponseHead(r.head, { clientVersion: "HTTP/1.1", keepAlive: true, ...DOWN_EDITS })).length + (plan.keepAlive ? 1 : 0));
}

const reqView = new RequestView();
const respView = new ResponseView();
const out = new Uint8Array(16 * 1024);
const upOpts = compileRequestOptions(UP);
const downOpts = compileResponseOptions(DOWN_EDITS);

function newRequest(buf: Uint8Array): void {
  if (parseRequestInto(reqView, buf, 0, buf.length, DEFAULT_LIMITS, scan) <= 0) throw new Error("bench request does not parse");
  keep(writeUpstreamRequest(reqView, buf, out, 0, upOpts) + reqView.target.length);
}

function newResponse(buf: Uint8Array): void {
  if (parseResponseInto(respView, buf, 0, buf.length, DEFAULT_LIMITS, "GET", scan) <= 0) throw new Error("bench response does not parse");
  keep(writeClientResponse(respView, buf, out, 0, downOpts, "HTTP/1.1", true) + responsePlan(respView, "HTTP/1.1", true));
}

interface Case {
  name: string;
  op: (i: number) => void;
}

const CASES: Case[] = [
  { name: "empty op (harness floor)", op: () => keep(1) },
  { name: "request, string path", op: () => oldRequest(reqBytes) },
  { name: "request, byte path", op: () => newRequest(reqBytes) },
  { name: "request, byte path, target changes each time", op: (i) => newRequest(varied[i & 3]) },
  { name: "response, string path", op: () => oldResponse(respBytes) },
  { name: "response, byte path", op: () => newResponse(respBytes) },
];

// ------------------------------------------------------------ measurement

/** Heap probes of the runtime. */
interface Heap {
  /** How bytes/op and collections are read, for the table's caption. */
  method: string;
  /** Bytes allocated so far (monotonic), or undefined when the runtime has no such counter. */
  allocated(): number | undefined;
  /** A number that moves when a collection runs (see `collected`). */
  level(): number;
  /** True when `level` went from `before` to `after` through a collection. */
  collected(before: number, after: number): boolean;
  collect(): void;
}

async function heapProbes(): Promise<Heap> {
  if ("Bun" in globalThis) {
    // JSC updates its heap size only when it collects: a change is a collection.
    const jsc = await import("bun:" + "jsc");
    return {
      method: "JSC has no allocation counter: bytes/op not measured; collections = changes of `bun:jsc` heapSize() sampled every 500 ops",
      allocated: () => undefined,
      level: () => jsc.heapSize(),
      collected: (before, after) => before !== after,
      collect: () => jsc.fullGC(),
    };
  }
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  return {
    method: "bytes/op = V8 total_allocated_bytes delta over one run; collections = drops of used_heap_size sampled every 500 ops",
    allocated: () => v8.getHeapStatistics().total_allocated_bytes,
    level: () => v8.getHeapStatistics().used_heap_size,
    collected: (before, after) => after < before,
    collect: gc,
  };
}

function timeRun(c: Case): number {
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) c.op(i);
  return ((performance.now() - t0) * 1e6) / OPS;
}

/**
 * Bytes allocated per op: the least over {@linkcode RUNS} runs, each after a
 * forced collection (the first runs also count code the JIT makes); NaN
 * without a counter.
 */
function bytesPerOp(c: Case, heap: Heap): number {
  let least = Infinity;
  for (let r = 0; r < RUNS; r++) {
    heap.collect();
    const a0 = heap.allocated();
    if (a0 === undefined) return NaN;
    for (let i = 0; i < OPS; i++) c.op(i);
    least = Math.min(least, (heap.allocated()! - a0) / OPS);
  }
  return least;
}

/** Collections during one run, from the heap level sampled every {@linkcode SAMPLE_EVERY} ops. */
function collections(c: Case, heap: Heap): number {
  heap.collect();
  let count = 0, last = heap.level();
  for (let i = 0; i < OPS; i++) {
    c.op(i);
    if (i % SAMPLE_EVERY === 0) {
      const now = heap.level();
      if (heap.collected(last, now)) count++;
      last = now;
    }
  }
  return count;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(): Promise<void> {
  const heap = await heapProbes();
  const runtime = "Bun" in globalThis ? `bun ${process.versions.bun}` : `deno ${process.versions.deno ?? ""}`;
  for (const c of CASES) for (let i = 0; i < 20_000; i++) c.op(i); // warm-up: every case JIT-compiled
  const rows: string[] = [];
  for (const c of CASES) {
    const ns = median(Array.from({ length: RUNS }, () => timeRun(c)));
    const bytes = bytesPerOp(c, heap);
    const gcs = collections(c, heap);
    rows.push(`| ${c.name} | ${ns.toFixed(0)} | ${Number.isNaN(bytes) ? "n/a" : bytes.toFixed(1)} | ${gcs} |`);
  }
  console.log(`\n${runtime}, ${OPS.toLocaleString("en-US")} ops per run, one reused view and output buffer`);
  console.log(`(${heap.method})\n`);
  console.log("| case | ns/op | bytes/op | collections per run |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) console.log(r);
  if (sink === -1) console.log("(sink)");
}

await main();
