// Starting and stopping the proxies under test: spliced (Deno, Bun), HAProxy, nginx stream, socat.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { snapshot, treePids } from "./proc.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `count` distinct free loopback ports, picked below the kernel's ephemeral range so that
 * outgoing connections (ours or other programs') cannot take one before a proxy binds it.
 */
export async function freePorts(count) {
  const [ephemeralLow] = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const high = Math.min(ephemeralLow, 32768) - 1;
  const low = Math.max(1024, high - 12000);
  const ports = new Set();
  while (ports.size < count) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (ports.has(port)) continue;
    const s = net.createServer();
    const ok = await new Promise((res) => s.once("error", () => res(false)).listen(port, "127.0.0.1", () => res(true)));
    if (ok) {
      ports.add(port);
      await new Promise((r) => s.close(r));
    }
  }
  return [...ports];
}

/** Whether something is in LISTEN state on 127.0.0.1:port (or 0.0.0.0:port). */
export function isListening(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const text = fs.readFileSync("/proc/net/tcp", "utf8");
  return text.split("\n").some((line) => {
    const f = line.trim().split(/\s+/);
    return f[3] === "0A" && (f[1] === `0100007F:${hex}` || f[1] === `00000000:${hex}`);
  });
}

/** A spawned process with captured output and an exit promise. */
function launch(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  const proc = { child, pid: child.pid, out: "", exited: false, code: null };
  child.stdout.on("data", (d) => { proc.out += d; });
  child.stderr.on("data", (d) => { proc.out += d; });
  proc.exit = new Promise((res) => child.on("exit", (code, sig) => {
    proc.exited = true;
    proc.code = code ?? sig;
    res();
  }));
  child.on("error", (err) => { proc.out += String(err); });
  return proc;
}

/** Waits until `port` listens and `extra()` holds; throws with the process output if it died. */
async function waitReady(proc, port, name, extra = () => true, timeoutMs = 20000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exited) throw new Error(`${name} exited (${proc.code}) before listening:\n${proc.out}`);
    if (isListening(port) && extra()) return;
    await sleep(50);
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.out}`);
}

/** Stops a proxy: SIGTERM to its whole tree, SIGKILL after `graceMs`. */
async function stopProc(proc, graceMs = 5000) {
  if (proc.exited) return;
  const pids = treePids(snapshot(), proc.pid);
  for (const p of pids) {
    try { process.kill(p, "SIGTERM"); } catch { /* gone */ }
  }
  const timedOut = await Promise.race([proc.exit.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    for (const p of treePids(snapshot(), proc.pid)) {
      try { process.kill(p, "SIGKILL"); } catch { /* gone */ }
    }
    await proc.exit;
  }
  // Forked children (socat) may outlive the parent for a moment.
  for (const p of pids) {
    try { process.kill(p, 0); process.kill(p, "SIGKILL"); } catch { /* gone */ }
  }
}

/**
 * Peer definitions. Each `start(ctx)` gets {port, upstream, admin, dir, root} and
 * resolves to {pid, port, admin?, stop(), proc}.
 */
export function peerDefs() {
  const spliced = (runtime, workers) => ({
    name: `spliced ${runtime} w${workers ?? 2}${workers ? "" : " (default)"}`,
    kind: "spliced",
    runtime,
    workers,
    async start({ port, upstream, admin, root }) {
      const args = ["--runtime", runtime, "tcp", "--listen", `127.0.0.1:${port}`, "--to", `127.0.0.1:${upstream}`,
        "--admin", `127.0.0.1:${admin}`, "--grace-period", "1s", "--pipe-size", "1m"];
      if (workers) args.push("--workers", String(workers));
      const proc = launch(path.join(root, "bin/spliced"), args);
      await waitReady(proc, port, this.name, () => /^listener /m.test(proc.out) && isListening(admin));
      return { pid: proc.pid, port, admin, proc, stop: () => stopProc(proc) };
    },
  });

  return [
    { name: "direct (no proxy)", kind: "direct", start: async ({ upstream }) => ({ pid: null, port: upstream, stop: async () => {} }) },
    spliced("deno", 1),
    spliced("deno", undefined),
    spliced("bun", 1),
    spliced("bun", undefined),
    {
      name: "HAProxy 1 thread, splice",
      kind: "haproxy",
      async start({ port, upstream, dir }) {
        const cfg = path.join(dir, `haproxy-${port}.cfg`);
        fs.writeFileSync(cfg, [
          "global",
          "  nbthread 1",
          "  tune.pipesize 1048576",
          "  maxconn 6000", // needs ~2.5 fds per connection (sockets + splice pipes) within ulimit -n 20000
          "defaults",
          "  mode tcp",
          "  timeout connect 5s",
          "  timeout client 10m",
          "  timeout server 10m",
          "  option splice-request",
          "  option splice-response",
          "listen bench",
          `  bind 127.0.0.1:${port}`,
          `  server s1 127.0.0.1:${upstream}`,
          "",
        ].join("\n"));
        const proc = launch("haproxy", ["-db", "-f", cfg]);
        await waitReady(proc, port, this.name);
        return { pid: proc.pid, port, proc, stop: () => stopProc(proc) };
      },
    },
    {
      name: "nginx stream 1 worker",
      kind: "nginx",
      async start({ port, upstream, dir }) {
        const prefix = path.join(dir, `nginx-${port}`);
        fs.mkdirSync(prefix, { recursive: true });
        const cfg = path.join(prefix, "nginx.conf");
        fs.writeFileSync(cfg, [
          "load_module /usr/lib/nginx/modules/ngx_stream_module.so;",
          "worker_processes 1;",
          "worker_rlimit_nofile 20000;",
          "daemon off;",
          `pid ${prefix}/nginx.pid;`,
          `error_log ${prefix}/error.log warn;`,
          "events { worker_connections 12000; }",
          "stream {",
          "  server {",
          `    listen 127.0.0.1:${port};`,
          `    proxy_pass 127.0.0.1:${upstream};`,
          "    proxy_half_close on;",
          "    proxy_timeout 10m;",
          "  }",
          "}",
          "",
        ].join("\n"));
        const proc = launch("nginx", ["-p", prefix, "-e", `${prefix}/error.log`, "-c", cfg]);
        // Ready when the master listens and its worker exists.
        await waitReady(proc, port, this.name, () => treePids(snapshot(), proc.pid).length >= 2);
        return { pid: proc.pid, port, proc, stop: () => stopProc(proc) };
      },
    },
    {
      name: "socat fork",
      kind: "socat",
      async start({ port, upstream }) {
        const proc = launch("socat", [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${upstream}`]);
        await waitReady(proc, port, this.name);
        return { pid: proc.pid, port, proc, stop: () => stopProc(proc) };
      },
    },
  ];
}

/** GET /stats from a spliced admin port (totals), or null. */
export async function splicedStats(admin) {
  if (!admin) return null;
  try {
    const res = await fetch(`http://127.0.0.1:${admin}/stats`);
    return (await res.json()).totals;
  } catch {
    return null;
  }
}

export { launch, stopProc, waitReady };
