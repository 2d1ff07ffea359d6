// The soak's client side: one transfer of each kind, each resolving to a record
// {kind, ok, corrupt, aborted, error, sent, received, start, end}. Every received byte is checked
// against the shared pattern (soak_pattern.mjs); the request direction is checked by the upstream
// (TCP: its verdict byte) or by the echo (HTTP, WebSocket).
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import { checker } from "./soak_pattern.mjs";

const TIMEOUT_MS = 90000;

function record(kind, start) {
  return { kind, ok: false, corrupt: false, aborted: false, error: null, sent: 0, received: 0, start, end: 0 };
}

/** Reads `stream` no faster than `rate` bytes/s by pausing it after each chunk. */
function throttle(stream, rate) {
  if (!rate) return;
  stream.on("data", (d) => {
    stream.pause();
    setTimeout(() => stream.resume(), Math.max(1, (d.length / rate) * 1000));
  });
}

/**
 * TCP bulk: request pool[reqOff, +reqLen) up, response pool[respOff, +respLen) down, at once.
 * `slow`: read the response at this many bytes/s. `abortAt`: destroy after this many response bytes.
 */
export function tcpTransfer(pool, port, { reqOff, reqLen, respOff, respLen, slow = 0, abortAt = -1, kind = "tcp bulk" }) {
  const r = record(kind, Date.now());
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    const check = checker(pool, respOff, respLen);
    let verdict = -1;
    const timer = setTimeout(() => { r.error = "timeout"; s.destroy(); }, TIMEOUT_MS);
    s.on("connect", () => {
      const head = Buffer.alloc(16);
      head.writeUInt32BE(reqOff, 0); head.writeUInt32BE(reqLen, 4);
      head.writeUInt32BE(respOff, 8); head.writeUInt32BE(respLen, 12);
      s.write(head);
      if (reqLen) s.write(pool.subarray(reqOff, reqOff + reqLen), () => { r.sent = reqLen; });
    });
    s.on("data", (d) => {
      const before = check.got;
      check.feed(d);
      const extra = d.subarray(check.got - before);
      if (extra.length && verdict < 0) { verdict = extra[0]; check.extra -= 1; }
      r.received = check.got;
      if (abortAt >= 0 && check.got >= abortAt && !r.aborted) { r.aborted = true; s.destroy(); }
    });
    throttle(s, slow);
    s.on("error", (e) => { r.error ??= e.code ?? e.message; });
    s.on("close", () => {
      clearTimeout(timer);
      r.end = Date.now();
      r.corrupt = check.bad >= 0 || check.extra > 0 || verdict === 0;
      if (r.corrupt) r.error = `corrupt: response byte ${check.bad}, extra ${check.extra}, verdict ${verdict}`;
      else if (!r.aborted) {
        r.ok = check.complete && verdict === 1;
        if (!r.ok) r.error ??= `truncated: ${check.got}/${respLen} bytes, verdict ${verdict}`;
      }
      resolve(r);
    });
  });
}

/**
 * One HTTP exchange on a keep-alive agent: POST /echo (body pool[off, +len), echoed back) or
 * GET /blob. `slow`: read the body at this many bytes/s; `abortAt`: destroy after that many body
 * bytes; `abortUpload`: destroy after sending half the request body.
 */
export function httpExchange(pool, agent, port, { method, off, len, slow = 0, abortAt = -1, abortUpload = false, kind }) {
  const r = record(kind, Date.now());
  return new Promise((resolve) => {
    let settled = false;
    const done = () => { if (!settled) { settled = true; clearTimeout(timer); r.end = Date.now(); resolve(r); } };
    const path = method === "POST" ? `/echo?off=${off}` : `/blob?off=${off}&len=${len}`;
    const headers = method === "POST" ? { "content-length": String(len), "content-type": "application/octet-stream" } : {};
    const req = http.request({ agent, host: "127.0.0.1", port, method, path, headers });
    const timer = setTimeout(() => { r.error = "timeout"; req.destroy(); }, TIMEOUT_MS);
    req.on("error", (e) => { if (!r.aborted) r.error ??= e.code ?? e.message; done(); });
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        r.error = `status ${res.statusCode}`;
        r.status = res.statusCode;
        res.resume();
        res.on("end", done);
        res.on("error", done);
        res.on("close", done);
        return;
      }
      r.status = 200;
      const check = checker(pool, off, len);
      res.on("data", (d) => {
        check.feed(d);
        r.received = check.got;
        if (check.bad >= 0) { r.corrupt = true; r.error = `corrupt: body byte ${check.bad}`; }
        if (abortAt >= 0 && check.got >= abortAt && !r.aborted) { r.aborted = true; req.destroy(); done(); }
      });
      throttle(res, slow);
      res.on("end", () => {
        if (check.extra) { r.corrupt = true; r.error = `corrupt: ${check.extra} extra bytes`; }
        r.ok = !r.corrupt && check.complete && !r.aborted;
        if (!r.ok && !r.corrupt && !r.aborted) r.error ??= `truncated: ${check.got}/${len}`;
        done();
      });
      res.on("error", (e) => { r.error ??= e.code ?? e.message; done(); });
      res.on("close", () => { if (!res.complete && !r.aborted && !r.corrupt) r.error ??= `truncated: ${check.got}/${len}`; done(); });
    });
    if (method === "POST") {
      if (abortUpload) {
        req.write(pool.subarray(off, off + (len >> 1)), () => { r.sent = len >> 1; r.aborted = true; req.destroy(); done(); });
      } else {
        req.end(pool.subarray(off, off + len), () => { r.sent = len; });
      }
    } else req.end();
  });
}

function wsFrame(op, payload) {
  const n = payload.length;
  const head = Buffer.alloc(n < 126 ? 2 : n < 65536 ? 4 : 10);
  head[0] = 0x80 | op;
  if (n < 126) head[1] = 0x80 | n;
  else if (n < 65536) { head[1] = 0x80 | 126; head.writeUInt16BE(n, 2); }
  else { head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(n), 2); }
  const mask = crypto.randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** A WebSocket session through the HTTP listener: `messages` binary messages echoed and checked, then a close. */
export function wsSession(pool, port, { messages, maxSize = 65536 }) {
  const r = record("websocket", Date.now());
  r.messages = 0;
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    const key = crypto.randomBytes(16).toString("base64");
    const timer = setTimeout(() => { r.error = "timeout"; s.destroy(); }, TIMEOUT_MS);
    let buf = Buffer.alloc(0);
    let upgraded = false, closed = false;
    let want = null; // {off, len}
    const sendNext = () => {
      if (r.messages >= messages) { s.write(wsFrame(8, Buffer.from([0x03, 0xe8]))); return; }
      const len = 1 + Math.floor(Math.random() * maxSize);
      const off = Math.floor(Math.random() * (pool.length - len));
      want = { off, len };
      s.write(wsFrame(2, pool.subarray(off, off + len)));
      r.sent += len;
    };
    s.on("connect", () => s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    s.on("data", (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        if (!/^HTTP\/1\.1 101 /.test(head)) { r.error = `status ${head.split(" ")[1]}`; r.status = Number(head.split(" ")[1]); s.destroy(); return; }
        const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        if (!head.includes(accept)) { r.error = "bad Sec-WebSocket-Accept"; s.destroy(); return; }
        upgraded = true;
        buf = buf.subarray(end + 4);
        sendNext();
      }
      for (;;) {
        if (buf.length < 2) return;
        const op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f, at = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
        if (buf.length < at + len) return;
        const payload = buf.subarray(at, at + len);
        buf = buf.subarray(at + len);
        if (op === 8) { closed = true; s.end(); return; }
        if (!want || op !== 2 || !payload.equals(pool.subarray(want.off, want.off + want.len))) {
          r.corrupt = true; r.error = `corrupt: message ${r.messages} (${len} bytes, op ${op})`; s.destroy(); return;
        }
        r.received += len;
        r.messages++;
        want = null;
        sendNext();
      }
    });
    s.on("error", (e) => { r.error ??= e.code ?? e.message; });
    s.on("close", () => {
      clearTimeout(timer);
      r.end = Date.now();
      r.ok = !r.corrupt && closed && r.messages === messages;
      if (!r.ok) r.error ??= `ended after ${r.messages}/${messages} messages`;
      resolve(r);
    });
  });
}

export function keepAliveAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
}
