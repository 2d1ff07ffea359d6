/**
 * A response that ends the connection (HTTP/1.0, `Connection: close`) reaches
 * the client whole even when the client kept sending: bytes left unread when
 * spliced closes would turn its FIN into a reset, and a reset destroys the
 * response before a slow client reads it. Found by test/fuzz_http.test.ts.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { httpUpstream } from "./helpers/http.ts";
import { sleep, startSpliced } from "./helpers/spliced.ts";

const BODY = "hello world ".repeat(1000);

/** An HTTP/1.0 request, then 1 MiB more while the answer is on its way; the client reads only later. */
function closingExchange(port: number): Promise<{ text: string; error: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    let text = "", error = "";
    s.on("connect", () => {
      s.write("GET / HTTP/1.0\r\nHost: a\r\n\r\n");
      setTimeout(() => s.write(Buffer.alloc(1 << 20, 65)), 10);
      s.pause();
      setTimeout(() => s.resume(), 150);
    });
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on("close", () => resolve({ text, error }));
  });
}

test("a closing response survives a client that keeps sending (lingering close, no reset)", { timeout: 60_000 }, async () => {
  const upstream = await httpUpstream((_req, res) => void setTimeout(() => res.end(BODY), 40));
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`, "--workers", "1"]);
  try {
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { text, error } = await closingExchange(proxy.port);
      const whole = /^HTTP\/1\.[01] 200 /.test(text) && text.endsWith(BODY);
      outcomes.push(whole ? "whole" : `lost (${error || "no error"}, ${text.length} bytes)`);
    }
    assert.deepEqual(outcomes.filter((o) => o !== "whole"), []);
    await sleep(10);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});
