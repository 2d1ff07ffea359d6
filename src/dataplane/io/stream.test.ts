/**
 * The stream engine against a scripted fake kernel: every path (splice,
 * copy fallback, queued bytes, budgets, short writes, EAGAIN, EINTR, 0 and
 * EPIPE) checked byte for byte, with the counters and the pipe pool.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as C from "../../../ffi/constants.ts";
import { F, SCOPE_SIZE } from "../../stats/layout.ts";
import { bytes, FakeSys } from "./_fake_sys.ts";
import { Endpoint } from "./endpoint.ts";
import { PipePool } from "./pipe_pool.ts";
import { type IoContext, S_DONE, S_FAILED, S_WAITING, S_YIELD, Stream, UNTIL_EOF } from "./stream.ts";
import { Tunnel, TUNNEL_DONE, TUNNEL_OPEN, TUNNEL_RESET } from "./tunnel.ts";

/** A fake kernel, two sockets, their endpoints, a stream between them and its context. */
function setUp(opts: { budget?: number; pipeSize?: number } = {}) {
  const fake = new FakeSys();
  const a = fake.socket(), b = fake.socket();
  const io: IoContext = {
    sys: fake.sys, pool: new PipePool(fake.sys, opts.pipeSize ?? 65536), counters: new Float64Array(SCOPE_SIZE),
    copyBuffer: new Uint8Array(4096), joinBuffer: new Uint8Array(4096), headBuffer: new Uint8Array(4096), budget: opts.budget ?? 1 << 20, now: 1,
  };
  const src = new Endpoint(a.fd), dst = new Endpoint(b.fd);
  const stream = new Stream(src, dst, F.bytes_client_to_upstream, [0]);
  return { fake, a, b, io, src, dst, stream };
}

/** Steps until the stream stops yielding. */
function run(stream: Stream, io: IoContext): number {
  let r = stream.step(io);
  for (let i = 0; r === S_YIELD && i < 10_000; i++) r = stream.step(io);
  return r;
}

/** Steps, answering every wait on the destination with an EPOLLOUT, until the stream is done or stuck. */
function runWritable(stream: Stream, io: IoContext): number {
  let r = stream.step(io);
  for (let i = 0; (r === S_YIELD || (r === S_WAITING && !stream.dst.writable)) && i < 10_000; i++) {
    stream.dst.writable = true;
    r = stream.step(io);
  }
  return r;
}

describe("stream: splice path", () => {
  test("moves exactly `remaining` bytes and leaves the rest in the source", () => {
    const { a, b, io, stream, fake } = setUp();
    const data = bytes(10_000);
    a.give(data);
    stream.remaining = 6000;
    assert.equal(run(stream, io), S_DONE);
    assert.deepEqual(b.sentBytes, data.subarray(0, 6000));
    assert.equal(a.inbox.length, 4000);
    assert.equal(stream.spliced, 6000);
    assert.equal(io.counters[F.bytes_spliced], 6000);
    assert.equal(io.counters[F.bytes_client_to_upstream], 6000);
    assert.equal(fake.bytesInPipes, 0);
  });

  test("UNTIL_EOF moves everything, then finishes at EOF", () => {
    const { a, b, io, stream } = setUp({ pipeSize: 1000 });
    const data = bytes(5500, 3);
    a.give(data);
    a.eof = true;
    stream.remaining = UNTIL_EOF;
    assert.equal(run(stream, io), S_DONE);
    assert.deepEqual(b.sentBytes, data);
    assert.equal(stream.src.eof, true);
  });

  test("waits on an empty source and gives the pipe back while idle", () => {
    const { a, b, io, stream } = setUp();
    stream.remaining = UNTIL_EOF;
    assert.equal(stream.step(io), S_WAITING);
    assert.equal(stream.src.readable, false, "readiness cleared by EAGAIN");
    a.give(bytes(10));
    stream.src.readable = true;
    assert.equal(stream.step(io), S_WAITING);
    assert.equal(b.sent.length, 10);
    assert.equal(io.pool.open, 1, "one pipe made");
    io.pool.acquire();
    assert.equal(io.pool.open, 1, "the next acquire reuses it from the pool: it came back empty");
  });

  test("queued JS bytes go out first, joined into one write, then spliced bytes", () => {
    const { a, b, io, stream, fake } = setUp();
    const head = new TextEncoder().encode("HEAD\r\n"), extra = bytes(5, 9), body = bytes(100, 1);
    a.give(body);
    stream.push(head);
    stream.push(extra);
    stream.remaining = 100;
    assert.equal(run(stream, io), S_DONE);
    assert.deepEqual(b.sentBytes, Uint8Array.from([...head, ...extra, ...body]));
    assert.equal(fake.calls.filter((c) => c.startsWith("write")).length, 1, "one write for both pieces");
    assert.equal(stream.copied, head.length + extra.length);
    assert.equal(stream.spliced, 100);
  });

  test("a destination that blocks: WAITING, stalledSince set, then resumes exactly", () => {
    const { a, b, io, stream, dst } = setUp({ pipeSize: 4096 });
    const data = bytes(20_000, 5);
    a.give(data);
    b.window = 3000;
    stream.remaining = 20_000;
    io.now = 100;
    assert.equal(stream.step(io), S_WAITING);
    assert.equal(dst.writable, false);
    assert.equal(stream.stalledSince, 100);
    io.now = 200;
    assert.equal(stream.step(io), S_WAITING, "no event: still waiting");
    assert.equal(stream.stalledSince, 100, "an event-less step does not move the stall time");
    b.window = Infinity;
    dst.writable = true;
    io.now = 300;
    assert.equal(run(stream, io), S_DONE);
    assert.equal(stream.stalledSince, 0);
    assert.deepEqual(b.sentBytes, data);
    assert.equal(stream.lastWrite, 300);
  });

  test("EINTR is retried on both sides", () => {
    const { a, b, io, stream, fake } = setUp();
    a.give(bytes(50));
    fake.cues.push({ call: "splice", result: -C.EINTR }, { call: "splice", result: -C.EINTR });
    stream.remaining = 50;
    assert.equal(run(stream, io), S_DONE);
    assert.deepEqual(b.sentBytes, bytes(50));
  });

  test("the source ends before `remaining`: FAILED, truncated", () => {
    const { a, io, stream } = setUp();
    a.give(bytes(30));
    a.eof = true;
    stream.remaining = 100;
    assert.equal(run(stream, io), S_FAILED);
    assert.equal(stream.truncated, true);
    assert.equal(stream.moved, 30);
  });

  test("splice into the destination returns 0: FAILED at dst with EPIPE", () => {
    const { a, io, stream, fake, b } = setUp();
    a.give(bytes(10));
    stream.remaining = 10;
    fake.cues.push({ call: "splice", result: 10, fd: a.fd });
    // The cued fill claims 10 bytes moved into the pipe; the flush then finds the pipe empty.
    fake.cues.push({ call: "splice", result: 0 });
    assert.equal(stream.step(io), S_FAILED);
    assert.equal(stream.failedAtDst, true);
    assert.equal(stream.errno, C.EPIPE);
    assert.equal(b.sent.length, 0);
  });

  test("a reset source: FAILED at src with its errno", () => {
    const { io, stream, fake, a } = setUp();
    fake.cues.push({ call: "splice", result: -C.ECONNRESET, fd: a.fd });
    stream.remaining = UNTIL_EOF;
    assert.equal(stream.step(io), S_FAILED);
    assert.equal(stream.failedAtDst, false);
    assert.equal(stream.errno, C.ECONNRESET);
  });

  test("a pipe still holding bytes is closed on release, never pooled", () => {
    const { a, b, io, stream, fake } = setUp();
    a.give(bytes(100));
    b.window = 0;
    stream.remaining = 100;
    assert.equal(stream.step(io), S_WAITING);
    assert.equal(fake.bytesInPipes, 100);
    stream.release(io);
    assert.equal(io.pool.open, 0, "closed");
    assert.equal(fake.bytesInPipes, 0);
  });
});

describe("stream: copy fallback", () => {
  test("a first-splice EINVAL switches to read/write with exact bytes, counted once", () => {
    const { a, b, io, stream, fake } = setUp();
    const data = bytes(10_000, 11);
    a.give(data);
    a.eof = true;
    fake.cues.push({ call: "splice", result: -C.EINVAL, fd: a.fd });
    stream.remaining = UNTIL_EOF;
    assert.equal(run(stream, io), S_DONE);
    assert.equal(stream.copyMode, true);
    assert.deepEqual(b.sentBytes, data);
    assert.equal(stream.copied, 10_000);
    assert.equal(io.counters[F.splice_fallbacks], 1);
    assert.equal(io.counters[F.bytes_copied], 10_000);
  });

  test("ENOSYS before any byte also falls back; EINVAL after bytes moved is a failure", () => {
    const first = setUp();
    first.a.give(bytes(10));
    first.fake.cues.push({ call: "splice", result: -C.ENOSYS, fd: first.a.fd });
    first.stream.remaining = 10;
    assert.equal(run(first.stream, first.io), S_DONE);
    assert.equal(first.stream.copyMode, true);

    const later = setUp();
    later.a.give(bytes(10));
    later.stream.remaining = UNTIL_EOF;
    assert.equal(later.stream.step(later.io), S_WAITING);
    later.a.give(bytes(10));
    later.stream.src.readable = true;
    later.fake.cues.push({ call: "splice", result: -C.EINVAL, fd: later.a.fd });
    assert.equal(later.stream.step(later.io), S_FAILED);
    assert.equal(later.stream.errno, C.EINVAL);
  });

  test("short writes keep every byte, in order, even when the copy buffer is reused", () => {
    const { a, b, io, stream, fake } = setUp();
    const data = bytes(9000, 2);
    a.give(data);
    a.eof = true;
    fake.cues.push({ call: "splice", result: -C.EINVAL, fd: a.fd });
    fake.maxWrite = 777;
    b.window = 1500;
    stream.remaining = UNTIL_EOF;
    assert.equal(stream.step(io), S_WAITING);
    io.copyBuffer.fill(0xee); // another connection reuses the buffer
    b.window = Infinity;
    stream.dst.writable = true;
    assert.equal(runWritable(stream, io), S_DONE);
    assert.deepEqual(b.sentBytes, data);
  });

  test("EPIPE on write: FAILED at dst", () => {
    const { a, io, stream, fake, b } = setUp();
    a.give(bytes(10));
    fake.cues.push({ call: "splice", result: -C.EINVAL, fd: a.fd }, { call: "write", result: -C.EPIPE, fd: b.fd });
    stream.remaining = 10;
    assert.equal(stream.step(io), S_FAILED);
    assert.equal(stream.failedAtDst, true);
    assert.equal(stream.errno, C.EPIPE);
  });
});

describe("stream: queue and budget", () => {
  test("pushed bytes are borrowed only until step returns", () => {
    const { b, io, stream } = setUp();
    const reused = bytes(3000, 4);
    const expected = reused.slice();
    b.window = 1000;
    stream.push(reused, 0, 3000);
    assert.equal(stream.step(io), S_WAITING);
    reused.fill(0); // the caller's buffer is reused for something else
    b.window = Infinity;
    stream.dst.writable = true;
    assert.equal(stream.step(io), S_DONE);
    assert.deepEqual(b.sentBytes, expected);
  });

  test("a step takes at most the budget from its source, then YIELDs", () => {
    const { a, b, io, stream } = setUp({ budget: 4096, pipeSize: 4096 });
    const data = bytes(40_000, 6);
    a.give(data);
    stream.remaining = UNTIL_EOF;
    let steps = 0, r = S_YIELD as number;
    while (r === S_YIELD) {
      const before = b.sent.length;
      r = stream.step(io);
      assert.ok(b.sent.length - before <= 4096, `step ${steps} moved ${b.sent.length - before}`);
      steps++;
    }
    assert.equal(r, S_WAITING);
    assert.ok(steps >= 10, `${steps} steps`);
    assert.deepEqual(b.sentBytes, data);
  });

  test("a short write of the queue keeps the rest in order", () => {
    const { b, io, stream, fake } = setUp();
    fake.maxWrite = 3;
    stream.push(bytes(10, 1));
    assert.equal(stream.step(io), S_WAITING, "a short write waits for EPOLLOUT");
    assert.equal(stream.dst.writable, false);
    assert.equal(runWritable(stream, io), S_DONE);
    assert.deepEqual(b.sentBytes, bytes(10, 1));
  });
});

describe("tunnel", () => {
  function tunnelSetUp() {
    const t = setUp();
    const back = new Stream(t.dst, t.src, F.bytes_upstream_to_client, [0]);
    return { ...t, tunnel: new Tunnel(t.stream, back) };
  }

  test("EOF one way shuts the other socket's write side; both EOFs end it", () => {
    const { a, b, io, tunnel } = tunnelSetUp();
    a.give(bytes(100));
    a.eof = true;
    assert.equal(tunnel.step(io), TUNNEL_OPEN);
    assert.equal(b.shutdownCalls, 1, "half-close passed on");
    assert.equal(b.sent.length, 100);
    b.give(bytes(50));
    b.eof = true;
    tunnel.backward.src.readable = true;
    assert.equal(tunnel.step(io), TUNNEL_DONE);
    assert.equal(a.shutdownCalls, 1);
    assert.deepEqual(a.sentBytes, bytes(50));
  });

  test("a failure resets the survivor", () => {
    const { a, b, io, tunnel, fake } = tunnelSetUp();
    fake.cues.push({ call: "splice", result: -C.ECONNRESET, fd: a.fd });
    assert.equal(tunnel.step(io), TUNNEL_RESET);
    assert.equal(b.lingerReset, true, "the other side is reset");
    assert.equal(a.lingerReset, false);
  });

  test("idle timeouts count bytes moved, not steps", () => {
    const { a, io, tunnel } = tunnelSetUp();
    io.now = 10;
    tunnel.step(io);
    assert.equal(tunnel.lastProgress, 0);
    a.give(bytes(5));
    tunnel.forward.src.readable = true;
    io.now = 20;
    tunnel.step(io);
    assert.equal(tunnel.lastProgress, 20);
  });
});
