// HTTP peers: the nginx origin, and the proxies/servers under test (spliced http/static on Deno
// and Bun, HAProxy mode http with and without forced splice, nginx proxy, a Bun fetch proxy).
// Process start/stop come from the TCP bench's peers.mjs.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { isListening, launch, stopProc, waitReady } from "./peers.mjs";
import { snapshot, treePids } from "./proc.mjs";

/** The files every case serves: name → size. */
export const FILES = { "1k.bin": 1024, "1m.bin": 1 << 20 };

/** A world-readable docroot (nginx workers run as an unprivileged user) holding FILES. */
export function makeDocroot(dir) {
  const root = path.join(dir, "www");
  fs.mkdirSync(root, { recursive: true });
  for (const [name, size] of Object.entries(FILES)) fs.writeFileSync(path.join(root, name), crypto.randomBytes(size));
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(root, 0o755);
  for (const name of Object.keys(FILES)) fs.chmodSync(path.join(root, name), 0o644);
  return root;
}

function nginxMain(prefix, body) {
  fs.mkdirSync(prefix, { recursive: true });
  for (const t of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) fs.mkdirSync(path.join(prefix, `${t}_temp`), { recursive: true });
  const cfg = path.join(prefix, "nginx.conf");
  fs.writeFileSync(cfg, [
    "worker_processes 1;",
    "worker_rlimit_nofile 20000;",
    "daemon off;",
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log warn;`,
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    "  default_type application/octet-stream;",
    "  keepalive_timeout 65;",
    "  keepalive_requests 1000000;",
    `  client_body_temp_path ${prefix}/client_body_temp;`,
    `  proxy_temp_path ${prefix}/proxy_temp;`,
    `  fastcgi_temp_path ${prefix}/fastcgi_temp;`,
    `  uwsgi_temp_path ${prefix}/uwsgi_temp;`,
    `  scgi_temp_path ${prefix}/scgi_temp;`,
    ...body.map((l) => `  ${l}`),
    "}",
    "",
  ].join("\n"));
  return cfg;
}

async function startNginx(name, prefix, cfg, port) {
  const proc = launch("nginx", ["-p", prefix, "-e", `${prefix}/error.log`, "-c", cfg]);
  await waitReady(proc, port, name, () => treePids(snapshot(), proc.pid).length >= 2);
  return { pid: proc.pid, port, proc, stop: () => stopProc(proc) };
}

/** The origin: nginx, 1 worker, sendfile on, keep-alive, serving `docroot` on `port`. */
export async function startOrigin({ port, dir, docroot }) {
  const prefix = path.join(dir, `nginx-origin-${port}`);
  const cfg = nginxMain(prefix, [
    "sendfile on;",
    "tcp_nopush on;",
    "server {",
    `  listen 127.0.0.1:${port} backlog=4096;`,
    `  root ${docroot};`,
    "}",
  ]);
  return startNginx("nginx origin", prefix, cfg, port);
}

/**
 * Peer definitions. `sizes` lists which files a peer is measured on; `static` peers serve the
 * docroot themselves. Each `start(ctx)` gets {port, admin, origin, dir, root, docroot} and
 * resolves to {pid, port, admin?, stop(), proc}.
 * `baselineRoot`: another checkout (the "before" code); adds "spliced http deno|bun w1 (before)",
 * which start that checkout's bin/spliced (a peer's own `root` wins over ctx.root).
 * `current: false` leaves out the spliced peers of the checkout under test (ctx.root).
 */
export function httpPeerDefs({ baselineRoot = null, current = true } = {}) {
  const both = ["1k.bin", "1m.bin"];
  const spliced = (mode, runtime, workers, ownRoot = null) => ({
    name: `spliced ${mode} ${runtime} w${workers ?? 2}${workers ? "" : " (default)"}${ownRoot ? " (before)" : ""}`,
    kind: "spliced",
    group: mode === "static" ? "static" : "proxy",
    mode,
    runtime,
    workers,
    baseline: Boolean(ownRoot),
    root: ownRoot ?? undefined,
    sizes: mode === "static" ? ["1m.bin"] : both,
    async start({ port, admin, origin, root: ctxRoot, docroot }) {
      const root = ownRoot ?? ctxRoot;
      const args = ["--runtime", runtime, mode, "--listen", `127.0.0.1:${port}`];
      if (mode === "http") args.push("--to", `127.0.0.1:${origin}`);
      else args.push("--root", docroot);
      args.push("--admin", `127.0.0.1:${admin}`, "--grace-period", "1s");
      if (workers) args.push("--workers", String(workers));
      const proc = launch(path.join(root, "bin/spliced"), args);
      await waitReady(proc, port, this.name, () => /^listener /m.test(proc.out) && isListening(admin));
      return { pid: proc.pid, port, admin, proc, stop: () => stopProc(proc) };
    },
  });

  const haproxy = (splice) => ({
    name: splice ? "HAProxy http 1 thread, splice" : "HAProxy http 1 thread",
    kind: splice ? "haproxy-splice" : "haproxy",
    group: "proxy",
    sizes: splice ? ["1m.bin"] : both,
    async start({ port, origin, dir }) {
      const cfg = path.join(dir, `haproxy-http-${port}.cfg`);
      fs.writeFileSync(cfg, [
        "global",
        "  nbthread 1",
        "  maxconn 6000",
        ...(splice ? ["  tune.pipesize 1048576"] : []),
        "defaults",
        "  mode http",
        "  option http-keep-alive",
        "  http-reuse always",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
        "  timeout http-keep-alive 60s",
        ...(splice ? ["  option splice-response"] : []),
        "listen bench",
        `  bind 127.0.0.1:${port}`,
        `  server origin 127.0.0.1:${origin}`,
        "",
      ].join("\n"));
      const proc = launch("haproxy", ["-db", "-f", cfg]);
      await waitReady(proc, port, this.name);
      return { pid: proc.pid, port, proc, stop: () => stopProc(proc) };
    },
  });

  const cur = (peer) => (current ? [peer] : []);
  const before = (mode, runtime, workers) => (baselineRoot ? [spliced(mode, runtime, workers, baselineRoot)] : []);
  return [
    { name: "direct to nginx (no proxy)", kind: "direct", group: "proxy", sizes: both, start: async ({ origin }) => ({ pid: null, port: origin, stop: async () => {} }) },
    ...cur(spliced("http", "deno", 1)),
    ...before("http", "deno", 1),
    ...cur(spliced("http", "deno", undefined)),
    ...cur(spliced("http", "bun", 1)),
    ...before("http", "bun", 1),
    ...cur(spliced("http", "bun", undefined)),
    haproxy(false),
    haproxy(true),
    {
      name: "nginx proxy 1 worker",
      kind: "nginx",
      group: "proxy",
      sizes: both,
      async start({ port, origin, dir }) {
        const prefix = path.join(dir, `nginx-proxy-${port}`);
        const cfg = nginxMain(prefix, [
          "upstream origin {",
          `  server 127.0.0.1:${origin};`,
          "  keepalive 32;",
          "  keepalive_requests 1000000;",
          "}",
          "server {",
          `  listen 127.0.0.1:${port} backlog=4096;`,
          "  location / {",
          "    proxy_pass http://origin;",
          "    proxy_http_version 1.1;",
          '    proxy_set_header Connection "";',
          "  }",
          "}",
        ]);
        return startNginx(this.name, prefix, cfg, port);
      },
    },
    {
      name: "Bun fetch proxy",
      kind: "bunfetch",
      group: "proxy",
      sizes: both,
      async start({ port, origin, root }) {
        const script = path.join(root, "bench/lib/http_bun_fetch_proxy.mjs");
        const proc = launch(path.join(root, "node_modules/.bin/bun"), [script, String(port), String(origin)]);
        await waitReady(proc, port, this.name, () => /listening/.test(proc.out));
        return { pid: proc.pid, port, proc, stop: () => stopProc(proc) };
      },
    },
    // 1 worker, like the nginx it is compared with (and to keep the whole run under 10 minutes).
    ...cur(spliced("static", "deno", 1)),
    ...cur(spliced("static", "bun", 1)),
  ];
}
