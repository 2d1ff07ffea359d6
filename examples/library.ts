/**
 * spliced as a library: a proxy in front of a tiny echo service, one round
 * trip through it, and the counters that show the bytes went by splice.
 *
 *   node_modules/.bin/bun examples/library.ts
 *   node_modules/.bin/deno run --allow-all examples/library.ts
 */
import net from "node:net";
import { startProxy } from "../src/mod.ts";

const echo = net.createServer((s) => s.pipe(s));
await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
const upstream = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;

const proxy = await startProxy({ workers: 1, listeners: [{ name: "echo", listen: "127.0.0.1:0", upstreams: [upstream] }] });
const { port } = proxy.address("echo");

const reply = await new Promise<string>((resolve) => {
  const client = net.connect(port, "127.0.0.1", () => client.end("hello through spliced"));
  let text = "";
  client.on("data", (d) => (text += d));
  client.on("close", () => resolve(text));
});
console.log(`reply: ${reply}`);

const { totals } = proxy.stats();
console.log(`spliced bytes: ${totals.bytes_spliced}, copied bytes: ${totals.bytes_copied}`);
await proxy.close();
echo.close();
