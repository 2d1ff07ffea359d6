/**
 * The ClientHello reader: table cases, every prefix, splits across records,
 * limits, a real hello from node:tls, and fast-check properties (any cut into
 * segments and records gives the same answer as the whole).
 */
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import tls from "node:tls";
import fc from "fast-check";
import { clientHello, helloMessage, records } from "./_testing.ts";
import {
  ClientHello,
  HELLO_MALFORMED,
  HELLO_NEED_MORE,
  HELLO_NOT_TLS,
  HELLO_OK,
  HELLO_TOO_LARGE,
  hostName,
  MAX_HELLO_BYTES,
  readClientHello,
} from "./client_hello.ts";

const LIMIT = 20 * 1024;

function read(bytes: Uint8Array, limit = LIMIT) {
  // Junk around the bytes: a reader looking outside [start, end) would see it.
  const buf = new Uint8Array(bytes.length + 8).fill(22);
  buf.set(bytes, 4);
  const out = new ClientHello();
  const r = readClientHello(buf, 4, 4 + bytes.length, limit, out);
  return { r, sni: out.sni, alpn: out.alpn };
}

test("tls hello: SNI and ALPN from one record", () => {
  assert.deepEqual(read(clientHello({ sni: "A.Example.com", alpn: ["h2", "http/1.1"] })), { r: HELLO_OK, sni: "a.example.com", alpn: ["h2", "http/1.1"] });
});

test("tls hello: no SNI, no ALPN, no extensions at all", () => {
  assert.deepEqual(read(clientHello({})), { r: HELLO_OK, sni: "", alpn: [] });
  assert.deepEqual(read(clientHello({ noExtensions: true })), { r: HELLO_OK, sni: "", alpn: [] });
});

test("tls hello: every proper prefix needs more, and nothing else", () => {
  const whole = clientHello({ sni: "x.example.net", alpn: ["h2"] });
  for (let n = 0; n < whole.length; n++) assert.equal(read(whole.subarray(0, n)).r, HELLO_NEED_MORE, `prefix ${n}`);
  assert.equal(read(whole).r, HELLO_OK);
});

test("tls hello: a handshake message spread over two and over many records", () => {
  const msg = helloMessage({ sni: "two.example.com", alpn: ["h2"] });
  assert.equal(read(records(msg, [10])).sni, "two.example.com");
  assert.equal(read(records(msg, [2, 1, 1, 30, 3])).sni, "two.example.com");
  assert.equal(read(records(msg, new Array(msg.length).fill(1))).sni, "two.example.com");
});

test("tls hello: bytes after the hello (early data) do not change the answer", () => {
  const whole = clientHello({ sni: "a.example.com" });
  const more = new Uint8Array([...whole, 23, 3, 3, 0, 2, 1, 2]);
  assert.deepEqual(read(more), { r: HELLO_OK, sni: "a.example.com", alpn: [] });
});

const NOT_TLS: Array<[string, number[]]> = [
  ["HTTP", [..."GET / HTTP/1.1\r\n"].map((c) => c.charCodeAt(0))],
  ["SSLv2 hello", [0x80, 0x2e, 0x01, 0x03, 0x01]],
  ["handshake type, version 2", [22, 2, 0, 0, 5]],
  ["one other byte", [0x16 + 1]],
];
for (const [name, bytes] of NOT_TLS) {
  test(`tls hello: not TLS: ${name}`, () => assert.equal(read(new Uint8Array(bytes)).r, HELLO_NOT_TLS));
}

function mutate(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  out[at] = value;
  return out;
}

test("tls hello: malformed records and messages", () => {
  const whole = clientHello({ sni: "a.example.com", alpn: ["h2"] });
  assert.equal(read(mutate(whole, 5, 2)).r, HELLO_MALFORMED, "handshake type 2 (ServerHello) first");
  assert.equal(read(new Uint8Array([22, 3, 1, 0, 0])).r, HELLO_MALFORMED, "empty record");
  assert.equal(read(new Uint8Array([22, 3, 1, 0x40, 1])).r, HELLO_MALFORMED, "record over 2^14");
  const msg = helloMessage({ sni: "a.example.com" });
  const two = records(msg, [10]);
  assert.equal(read(mutate(two, 15, 23)).r, HELLO_MALFORMED, "second record not a handshake");
  assert.equal(read(mutate(whole, 9, 2)).r, HELLO_MALFORMED, "legacy_version 2.x");
  assert.equal(read(mutate(whole, 43, 33)).r, HELLO_MALFORMED, "session id longer than 32");
  // message length one byte shorter than the body: the extensions no longer add up
  const short = mutate(whole, 8, whole[8] - 1);
  assert.equal(read(short).r, HELLO_MALFORMED, "lengths do not add up");
});

test("tls hello: bad server names and ALPN lists", () => {
  for (const sni of ["bad name.com", "a..b", "trailing.", ".lead", "é.com", "x".repeat(64) + ".com"]) {
    assert.equal(read(clientHello({ sni })).r, HELLO_MALFORMED, JSON.stringify(sni));
  }
  assert.equal(read(clientHello({ alpn: [""] })).r, HELLO_MALFORMED, "empty ALPN name");
  assert.equal(read(clientHello({ alpn: [] })).r, HELLO_MALFORMED, "empty ALPN list");
});

test("tls hello: the same extension twice is malformed", () => {
  const msg = helloMessage({ sni: "a.example.com" });
  // Duplicate the supported_versions extension (its 7 bytes end the message) and fix the lengths.
  const ext = msg.subarray(msg.length - 7);
  const body = new Uint8Array([...msg.subarray(4), ...ext]);
  const extLenAt = 2 + 32 + 1 + 32 + 2 + 4 + 2; // offset of the extensions length in the body
  const extLen = ((body[extLenAt] << 8) | body[extLenAt + 1]) + 7;
  body[extLenAt] = extLen >> 8;
  body[extLenAt + 1] = extLen & 0xff;
  const dup = new Uint8Array([1, 0, body.length >> 8, body.length & 0xff, ...body]);
  assert.equal(read(records(dup)).r, HELLO_MALFORMED);
});

test("tls hello: limits: a message over 16 KiB, records past the buffer", () => {
  const big = helloMessage({ sni: "a.example.com", padding: MAX_HELLO_BYTES });
  assert.equal(read(records(big, [16384]).subarray(0, 9)).r, HELLO_TOO_LARGE, "known from the header alone");
  const fits = helloMessage({ sni: "a.example.com", padding: MAX_HELLO_BYTES - 200 });
  assert.equal(read(records(fits, [16384])).r, HELLO_OK, "16 KiB - 200 in two records");
  const small = helloMessage({ sni: "a.example.com" });
  assert.equal(read(records(small, new Array(small.length).fill(1)), 200).r, HELLO_TOO_LARGE, "tiny records past a 200-byte limit");
});

test("hostName: lower-cases and checks labels", () => {
  const b = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
  assert.equal(hostName(b("WWW.Example.COM")), "www.example.com");
  assert.equal(hostName(b("_srv.x-y.z9")), "_srv.x-y.z9");
  assert.equal(hostName(b("")), null);
  assert.equal(hostName(b("a".repeat(63))), "a".repeat(63));
  assert.equal(hostName(b("a".repeat(64))), null);
});

const nameArb = fc.array(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const specArb = fc.record({
  sni: fc.option(nameArb, { nil: undefined }),
  alpn: fc.option(fc.array(fc.stringMatching(/^[a-z0-9./-]{1,10}$/), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  padding: fc.integer({ min: 0, max: 3000 }),
});

test("tls hello property: any record split and any segment split give the whole's answer", () => {
  fc.assert(fc.property(specArb, fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (spec, cuts, segs) => {
    const bytes = records(helloMessage(spec), cuts);
    const ends = [...new Set(segs.map((s) => s % bytes.length))].sort((a, b) => a - b);
    for (const e of ends) assert.equal(read(bytes.subarray(0, e)).r, HELLO_NEED_MORE);
    const got = read(bytes);
    assert.deepEqual(got, { r: HELLO_OK, sni: spec.sni ?? "", alpn: spec.alpn ?? [] });
  }), { numRuns: 300 });
});

test("tls hello property: random bytes never throw, and a non-22 first byte is not TLS", () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (bytes) => {
    const { r } = read(bytes);
    if (bytes[0] !== 22) assert.equal(r, HELLO_NOT_TLS);
    else assert.ok([HELLO_NEED_MORE, HELLO_MALFORMED, HELLO_NOT_TLS, HELLO_OK, HELLO_TOO_LARGE].includes(r));
  }), { numRuns: 500 });
});

test("tls hello property: a flipped byte in a valid hello never throws", () => {
  const whole = clientHello({ sni: "a.example.com", alpn: ["h2", "http/1.1"] });
  fc.assert(fc.property(fc.nat(whole.length - 1), fc.integer({ min: 0, max: 255 }), (at, v) => {
    const { r } = read(mutate(whole, at, v));
    assert.ok(r >= HELLO_OK && r <= HELLO_TOO_LARGE);
  }), { numRuns: 1000 });
});

/** The first bytes a node:tls client sends, captured by a plain TCP server. */
async function realHello(options: tls.ConnectionOptions): Promise<Uint8Array> {
  let resolveBytes!: (b: Uint8Array) => void;
  const got = new Promise<Uint8Array>((r) => (resolveBytes = r));
  const server = net.createServer((s) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      const all = new Uint8Array(Buffer.concat(chunks));
      if (readClientHello(all, 0, all.length, LIMIT, new ClientHello()) !== HELLO_NEED_MORE) {
        resolveBytes(all);
        s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const client = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options });
  client.on("error", () => {});
  try {
    return await got;
  } finally {
    client.destroy();
    await new Promise((r) => server.close(r));
  }
}

test("tls hello: a real node:tls ClientHello", { timeout: 20_000 }, async () => {
  const bytes = await realHello({ servername: "Real.Example.org", ALPNProtocols: ["h2", "http/1.1"] });
  assert.deepEqual(read(bytes), { r: HELLO_OK, sni: "real.example.org", alpn: ["h2", "http/1.1"] });
});
