/**
 * LineQueue on a real non-blocking pipe: whole lines only, drops when full,
 * writes cut after a newline at most PIPE_BUF bytes on, EAGAIN keeps the rest.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as C from "../../ffi/constants.ts";
import { loadSys } from "../../ffi/mod.ts";
import { LineQueue } from "./log_writer.ts";

test("LineQueue: fills to capacity with whole lines, then refuses", () => {
  const q = new LineQueue(100);
  const line = "x".repeat(29); // 30 bytes with its newline
  assert.equal(q.push(line), true);
  assert.equal(q.push(line), true);
  assert.equal(q.push(line), true);
  assert.equal(q.pending, 90);
  assert.equal(q.push(line), false, "a line that does not fit is refused whole");
  assert.equal(q.pending, 90);
  assert.equal(q.push("é".repeat(5)), false, "11 bytes of UTF-8 do not fit in 10");
  assert.equal(q.push("é".repeat(4)), true, "9 bytes do");
  assert.equal(q.pending, 99);
});

test("LineQueue: writes in pieces of at most the chunk size, cut after a newline", () => {
  const q = new LineQueue(1000);
  for (let i = 0; i < 10; i++) q.push(`${i}`.repeat(49)); // 50-byte lines
  const writes: string[] = [];
  const r = q.drain((buf, len) => (writes.push(new TextDecoder().decode(buf.subarray(0, len))), len), 120);
  assert.equal(r, 0);
  assert.deepEqual(writes.map((w) => w.length), [100, 100, 100, 100, 100]);
  assert.ok(writes.every((w) => w.endsWith("\n")));
  assert.equal(q.pending, 0);
  q.push("y".repeat(299));
  const long: number[] = [];
  q.drain((_b, len) => (long.push(len), len), 120);
  assert.deepEqual(long, [300], "a line longer than the chunk goes alone, whole");
});

test("LineQueue: on a full non-blocking pipe, EAGAIN keeps the rest; reading lets it through whole", async () => {
  const sys = await loadSys();
  const fds = new Int32Array(2);
  assert.equal(sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC), 0);
  try {
    const q = new LineQueue(1 << 20);
    const line = "z".repeat(999);
    let pushed = 0;
    while (q.push(line)) pushed++;
    const write = (buf: Uint8Array, len: number) => sys.write(fds[1], buf, len);
    assert.equal(q.drain(write, 4096), -C.EAGAIN, "the pipe (64 KiB) fills first");
    const left = q.pending;
    assert.ok(left > 0 && left % 1000 === 0, `whole lines left: ${left}`);
    const buf = new Uint8Array(1 << 16);
    let text = "";
    for (;;) {
      const n = sys.read(fds[0], buf, buf.length);
      if (n > 0) text += new TextDecoder().decode(buf.subarray(0, n));
      const r = q.drain(write, 4096);
      if (r === 0 && n <= 0) break;
    }
    const lines = text.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, pushed);
    assert.ok(lines.every((l) => l === line));
  } finally {
    sys.close(fds[0]);
    sys.close(fds[1]);
  }
});
