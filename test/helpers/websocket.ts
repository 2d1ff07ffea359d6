/**
 * A minimal WebSocket echo origin (RFC 6455 handshake and unfragmented
 * frames), on node:net, so the upgrade test needs no package.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { startServer, type TestServer } from "./peers.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Starts an origin that accepts any WebSocket upgrade and echoes each message. */
export function startWebSocketEcho(): Promise<TestServer> {
  return startServer((conn) => {
    let buf: Buffer = Buffer.alloc(0) as Buffer;
    let upgraded = false;
    conn.socket.on("data", (d: Uint8Array) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        buf = buf.subarray(end + 4);
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? "";
        const accept = createHash("sha1").update(key + GUID).digest("base64");
        conn.socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded = true;
      }
      // After a close frame the server closes the TCP connection (RFC 6455 §7.1.1).
      buf = echoFrames(buf, (frame) => conn.socket.write(frame), () => conn.socket.end());
    });
  });
}

/** Parses complete client frames from `buf`, echoes them unmasked, returns the rest. */
function echoFrames(buf: Buffer, send: (frame: Buffer) => void, onClose: () => void): Buffer {
  for (;;) {
    if (buf.length < 2) return buf;
    const opcode = buf[0] & 0x0f;
    let len = buf[1] & 0x7f, p = 2;
    if (len === 126) { if (buf.length < 4) return buf; len = buf.readUInt16BE(2); p = 4; }
    else if (len === 127) { if (buf.length < 10) return buf; len = Number(buf.readBigUInt64BE(2)); p = 10; }
    const masked = (buf[1] & 0x80) !== 0;
    const need = p + (masked ? 4 : 0) + len;
    if (buf.length < need) return buf;
    const mask = masked ? buf.subarray(p, p + 4) : undefined;
    const payload = Buffer.from(buf.subarray(need - len, need));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
    buf = buf.subarray(need);
    if (opcode === 0x8) { send(frame(0x8, payload)); onClose(); return buf; }
    if (opcode === 0x1 || opcode === 0x2) send(frame(opcode, payload));
  }
}

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len])
    : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff])
    : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  return Buffer.concat([head, payload]);
}
