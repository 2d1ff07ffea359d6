/**
 * Run by scripts/pack_test.sh inside an empty project where the packed
 * tarball was installed: imports "spliced" as a user would, proxies one TCP
 * connection to a real upstream on 127.0.0.1 (port 0) and compares the bytes
 * each way by SHA-256, reads the stats through adminApp, then closes.
 *
 *   bun lib_check.ts bun    |    deno run --allow-... lib_check.ts deno
 *
 * Prints one `lib ok: ...` line and exits 0, or throws (exit 1). The pack test
 * also type-checks it (tsc on the Bun side, deno check on the Deno side).
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import process from "node:process";
import { adminApp, type Proxy, startProxy, type StatsSnapshot, VERSION } from "spliced";

// The types are real, not `any`: tsc and deno check fail on an unused @ts-expect-error.
// @ts-expect-error listeners is an array of listener configs
export const notAConfig: Parameters<typeof startProxy>[0] = { listeners: 5 };

const UP = 1 << 20; // client → upstream
const DOWN = 3 << 20; // upstream → client

function sha256(chunks: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
}

/** An upstream that hashes what it receives and answers with `DOWN` random bytes once the client is done. */
async function upstream(): Promise<{ port: number; received: Promise<string>; sent: string; server: net.Server }> {
  const payload = randomBytes(DOWN);
  let gotIt!: (hash: string) => void;
  const received = new Promise<string>((resolve) => (gotIt = resolve));
  const server = net.createServer((socket) => {
    const chunks: Uint8Array[] = [];
    socket.on("data", (d: Uint8Array) => chunks.push(d));
    socket.on("end", () => {
      gotIt(sha256(chunks));
      socket.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, received, sent: sha256([payload]), server };
}

/** Sends `UP` random bytes through the proxy, half-closes, and hashes the answer. */
function client(port: number): Promise<{ sent: string; received: string; bytes: number }> {
  const payload = randomBytes(UP);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    const socket = net.connect(port, "127.0.0.1", () => socket.end(payload));
    socket.on("data", (d: Uint8Array) => (chunks.push(d), bytes += d.length));
    socket.on("error", reject);
    socket.on("close", () => resolve({ sent: sha256([payload]), received: sha256(chunks), bytes }));
  });
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`lib_check: ${what}`);
}

async function settled(proxy: Proxy): Promise<StatsSnapshot> {
  for (let i = 0; i < 200; i++) {
    const s = proxy.stats();
    if (s.totals.connections_active === 0 && s.totals.bytes_upstream_to_client === DOWN) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  return proxy.stats();
}

async function main(runtime: string): Promise<void> {
  const up = await upstream();
  const proxy = await startProxy({ workers: 1, listeners: [{ name: "lib", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${up.port}`] }] });
  try {
    const got = await client(proxy.address("lib").port);
    expect((await up.received) === got.sent, "the upstream's bytes differ from what the client sent");
    expect(got.received === up.sent, `the client got ${got.bytes} bytes that differ from the upstream's ${DOWN}`);
    const stats = await settled(proxy);
    expect(stats.runtime === runtime, `runtime is ${stats.runtime}, expected ${runtime}`);
    expect(stats.totals.bytes_client_to_upstream === UP, `bytes_client_to_upstream ${stats.totals.bytes_client_to_upstream}`);
    const app = adminApp(proxy, { readsNeedToken: false });
    const res = await app.request("/stats");
    const body = await res.json() as StatsSnapshot;
    expect(res.status === 200 && body.totals.bytes_upstream_to_client === DOWN, `adminApp GET /stats: ${res.status}`);
    const asset = await app.request("/assets/uPlot.iife.min.js");
    expect(asset.status === 200 && (await asset.text()).length > 1000, `adminApp GET /assets/uPlot.iife.min.js: ${asset.status}`);
    console.log(`lib ok: spliced ${VERSION} on ${stats.runtime}, ${UP} + ${DOWN} bytes by sha256, ` +
      `${stats.totals.bytes_spliced} spliced, ${stats.totals.bytes_copied} copied`);
  } finally {
    await proxy.close();
    up.server.close();
  }
}

await main(process.argv[2] ?? "bun");
