// The soak's upstreams, in one child process that bench/soak.mjs kills (SIGKILL) and restarts:
//   TCP_PORT  bulk: a 16-byte header (u32 BE reqOff, reqLen, respOff, respLen), then reqLen request
//             bytes. The response, sent at once (both directions move together): respLen bytes of
//             the pattern at respOff, then one verdict byte once the whole request arrived
//             (1: byte-exact, 0: not), then FIN.
//   HTTP_PORT POST /echo?off=N  the body echoed back (Content-Length); the body is also checked
//             against the pattern at N (a mismatch is counted and logged to stderr);
//             GET /blob?off=N&len=M  pattern bytes; GET /ws with Upgrade: websocket: an echo
//             WebSocket (frames echoed with their opcode, close answered).
//   node soak_upstream.mjs TCP_PORT HTTP_PORT      prints "ready" when both listen
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import { checker, makePool } from "./soak_pattern.mjs";

const [tcpPort, httpPort] = process.argv.slice(2).map(Number);
const pool = makePool();
let corrupt = 0;

const tcp = net.createServer((s) => {
  s.on("error", () => {});
  let head = Buffer.alloc(0);
  let check = null;
  let reqLen = 0;
  s.on("data", (d) => {
    if (!check) {
      head = Buffer.concat([head, d]);
      if (head.length < 16) return;
      const reqOff = head.readUInt32BE(0);
      reqLen = head.readUInt32BE(4);
      const respOff = head.readUInt32BE(8);
      const respLen = head.readUInt32BE(12);
      check = checker(pool, reqOff, reqLen);
      if (respLen) s.write(pool.subarray(respOff, respOff + respLen));
      d = head.subarray(16);
    }
    check.feed(d);
    if (check.got === reqLen && !s.verdictSent) {
      s.verdictSent = true;
      if (check.bad >= 0 || check.extra) { corrupt++; console.error(`tcp request corrupt at ${check.bad} (+${check.extra})`); }
      s.end(Buffer.from([check.bad < 0 && !check.extra ? 1 : 0]));
    }
  });
  s.on("end", () => { if (!s.verdictSent) s.destroy(); });
});

const web = http.createServer({ keepAliveTimeout: 120000 }, (req, res) => {
  const url = new URL(req.url, "http://x");
  const off = Number(url.searchParams.get("off") ?? 0);
  if (req.method === "POST" && url.pathname === "/echo") {
    const len = Number(req.headers["content-length"] ?? -1);
    if (len < 0) { res.writeHead(411).end(); return; }
    const c = checker(pool, off, len);
    res.writeHead(200, { "content-length": String(len), "x-generation": String(req.headers["x-soak-generation"] ?? "") });
    req.on("data", (d) => { c.feed(d); res.write(d); });
    req.on("end", () => {
      if (c.bad >= 0) { corrupt++; console.error(`http request corrupt at ${c.bad}`); }
      res.end();
    });
    return;
  }
  if (req.method === "GET" && url.pathname === "/blob") {
    const len = Number(url.searchParams.get("len"));
    req.resume();
    res.writeHead(200, { "content-length": String(len) });
    res.end(pool.subarray(off, off + len));
    return;
  }
  req.resume();
  res.writeHead(404, { "content-length": "0" }).end();
});
web.on("clientError", (_e, s) => s.destroy());

// A minimal WebSocket echo (RFC 6455): enough for binary/text frames up to 2^32 and close.
web.on("upgrade", (req, sock, first) => {
  sock.on("error", () => {});
  const key = req.headers["sec-websocket-key"];
  if (!key || String(req.headers.upgrade).toLowerCase() !== "websocket") { sock.destroy(); return; }
  const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = first?.length ? Buffer.from(first) : Buffer.alloc(0);
  const pump = () => {
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      const masked = buf[1] & 0x80;
      const need = at + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const mask = masked ? buf.subarray(at, at + 4) : null;
      const payload = Buffer.from(buf.subarray(at + (masked ? 4 : 0), need));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(need);
      sock.write(frame(op, payload));
      if (op === 8) { sock.end(); return; }
    }
  };
  sock.on("data", (d) => { buf = buf.length ? Buffer.concat([buf, d]) : d; pump(); });
  pump();
});

/** An unmasked frame (server to client). */
export function frame(op, payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) { head[0] = 0x80 | op; head[1] = 126; head.writeUInt16BE(n, 2); }
  if (n >= 65536) { head[0] = 0x80 | op; head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2); }
  return Buffer.concat([head, payload]);
}

let up = 0;
const ready = () => { if (++up === 2) console.log("ready"); };
tcp.listen({ port: tcpPort, host: "127.0.0.1", backlog: 1024 }, ready);
web.listen({ port: httpPort, host: "127.0.0.1", backlog: 1024 }, ready);
process.on("SIGTERM", () => { console.error(`upstream exiting, ${corrupt} corrupt requests seen`); process.exit(0); });
