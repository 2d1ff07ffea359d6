// Running wrk (-t1 -c32 --latency) and reading its results through a Lua `done` hook,
// which gives exact counts (requests, bytes, every error kind) and latency percentiles in µs.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const MARK = "WRKJSON ";

// Only `done` is defined, so wrk keeps its fast path (one pre-built request, no Lua per request).
const LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f,"stdev":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, latency.stdev))
end
`;

/** Writes the Lua hook into `dir` once; returns its path. */
export function wrkScript(dir) {
  const file = path.join(dir, "wrk-done.lua");
  if (!fs.existsSync(file)) fs.writeFileSync(file, LUA);
  return file;
}

/**
 * One wrk run: `url`, `seconds`, `connections` on one thread. Resolves to
 * {requests, seconds, bytes, reqPerSec, gbPerSec, errors:{connect,read,write,status,timeout},
 *  p50Ms, p90Ms, p99Ms, p999Ms, maxMs, meanMs, pid, text}.
 */
export function wrk(url, { seconds, connections = 32, threads = 1, script, onStart } = {}) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url];
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { out += d; });
    onStart?.(child.pid);
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
    child.on("error", (err) => { clearTimeout(timer); reject(err); });
    child.on("exit", (code, sig) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith(MARK));
      if (!line) return reject(new Error(`wrk ${args.join(" ")} exited ${code ?? sig} without results:\n${out.slice(0, 1000)}`));
      const j = JSON.parse(line.slice(MARK.length));
      const secs = j.duration_us / 1e6;
      const ms = (us) => us / 1000;
      resolve({
        requests: j.requests,
        seconds: secs,
        bytes: j.bytes,
        reqPerSec: j.requests / secs,
        gbPerSec: j.bytes / secs / 1e9,
        errors: { connect: j.connect, read: j.read, write: j.write, status: j.status, timeout: j.timeout },
        errorCount: j.connect + j.read + j.write + j.status + j.timeout,
        p50Ms: ms(j.p50), p90Ms: ms(j.p90), p99Ms: ms(j.p99), p999Ms: ms(j.p999), maxMs: ms(j.max), meanMs: ms(j.mean),
        text: out.split("\n").filter((l) => !l.startsWith(MARK)).join("\n"),
      });
    });
  });
}
