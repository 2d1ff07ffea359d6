// The "Bun fetch proxy" peer of the HTTP benchmark: what a Bun user writes in a few lines.
// Bun.serve accepts, and each request is forwarded with fetch() (Bun's pooled keep-alive client)
// to the origin; the origin's Response (status, headers, streamed body) is returned as is.
//   node_modules/.bin/bun bench/lib/http_bun_fetch_proxy.mjs LISTEN_PORT ORIGIN_PORT
const [listenPort, originPort] = process.argv.slice(2).map(Number);
if (!listenPort || !originPort) {
  console.error("usage: bun http_bun_fetch_proxy.mjs LISTEN_PORT ORIGIN_PORT");
  process.exit(2);
}
const origin = `http://127.0.0.1:${originPort}`;

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: listenPort,
  idleTimeout: 60,
  fetch(req) {
    const url = new URL(req.url);
    return fetch(origin + url.pathname + url.search, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "manual",
      decompress: false,
    });
  },
  error(err) {
    return new Response(`bad gateway: ${err.message}\n`, { status: 502 });
  },
});
console.log(`bun fetch proxy listening ${server.hostname}:${server.port} -> ${origin}`);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { server.stop(true); process.exit(0); });
