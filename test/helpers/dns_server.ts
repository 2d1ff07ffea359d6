/**
 * A tiny DNS server for tests: UDP on 127.0.0.1, answers A and AAAA queries
 * from a table the test changes between answers (`set`), or SERVFAIL for
 * every query while `failing` is set. Writes the few bytes of an answer by
 * hand (RFC 1035 §4.1): header, the question echoed, one record per address.
 */
import dgram from "node:dgram";
import { isIPv4 } from "node:net";

/** A running test DNS server. */
export interface TestDns {
  /** `127.0.0.1:PORT`, for `dns.servers`. */
  readonly server: string;
  /** Sets the addresses `name` answers (both families; each query gets its own). */
  set(name: string, addresses: string[]): void;
  /** While true, every query is answered SERVFAIL. */
  failing: boolean;
  /** Queries received so far. */
  readonly queries: number;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1, port 0. */
export function startTestDns(): Promise<TestDns> {
  const table = new Map<string, string[]>();
  const socket = dgram.createSocket("udp4");
  const state = { failing: false, queries: 0 };
  socket.on("message", (msg, peer) => {
    state.queries++;
    const reply = answer(msg, table, state.failing);
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  return new Promise((resolve) => socket.bind(0, "127.0.0.1", () => resolve({
    server: `127.0.0.1:${socket.address().port}`,
    set: (name, addresses) => void table.set(name.toLowerCase(), addresses),
    get failing() { return state.failing; },
    set failing(v: boolean) { state.failing = v; },
    get queries() { return state.queries; },
    close: () => new Promise<void>((done) => socket.close(() => done())),
  })));
}

function answer(msg: Buffer, table: Map<string, string[]>, failing: boolean): Buffer | undefined {
  if (msg.length < 12) return undefined;
  let at = 12;
  const labels: string[] = [];
  while (at < msg.length && msg[at] !== 0) {
    labels.push(msg.subarray(at + 1, at + 1 + msg[at]).toString("latin1"));
    at += msg[at] + 1;
  }
  const qtype = msg.readUInt16BE(at + 1);
  const question = msg.subarray(12, at + 5);
  const name = labels.join(".").toLowerCase();
  const records = failing ? [] : (table.get(name) ?? []).filter((a) => (qtype === 1 ? isIPv4(a) : qtype === 28 && !isIPv4(a)));
  const rcode = failing ? 2 : table.has(name) ? 0 : 3;
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, question, ...records.map((a) => record(a, qtype))]);
}

function record(address: string, qtype: number): Buffer {
  const data = qtype === 1 ? Buffer.from(address.split(".").map(Number)) : ipv6Bytes(address);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(qtype, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(1, 6);
  head.writeUInt16BE(data.length, 10);
  return Buffer.concat([head, data]);
}

function ipv6Bytes(address: string): Buffer {
  const [left, right = ""] = address.split("::");
  const l = left ? left.split(":") : [];
  const r = right ? right.split(":") : [];
  const groups = address.includes("::") ? [...l, ...Array(8 - l.length - r.length).fill("0"), ...r] : l;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
