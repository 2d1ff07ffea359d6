// What a benchmark report states about the machine and the software it measured.
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";

/** First line (or `pick`) of what `cmd args` prints about its version; "?" when it cannot run. */
export function version(cmd, args, pick = (s) => s.split("\n")[0]) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return pick(`${r.stdout ?? ""}${r.stderr ?? ""}`.trim() || String(r.error ?? "?"));
}

/** Date, machine, runtimes (from `root`'s node_modules), HAProxy and nginx: what every report states. */
export function baseEnvironment(root) {
  const bin = path.join(root, "node_modules/.bin");
  return {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    deno: version(path.join(bin, "deno"), ["--version"]),
    bun: version(path.join(bin, "bun"), ["--version"]),
    node: process.version,
    haproxy: version("haproxy", ["-v"]),
    nginx: version("nginx", ["-v"]),
  };
}
