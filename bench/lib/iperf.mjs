// Running iperf3 (server once per bench run, a client per measurement) and reading its JSON.
import { execFile } from "node:child_process";
import { launch, sleep, isListening } from "./peers.mjs";

/** Starts `iperf3 -s` on 127.0.0.1:port; it serves tests one after another. */
export async function startIperfServer(port) {
  const proc = launch("iperf3", ["-s", "-B", "127.0.0.1", "-p", String(port)]);
  const until = Date.now() + 10000;
  while (!isListening(port)) {
    if (proc.exited || Date.now() > until) throw new Error(`iperf3 server did not start on ${port}:\n${proc.out}`);
    await sleep(50);
  }
  return proc;
}

function runOnce(args, timeoutMs) {
  return new Promise((resolve) => {
    execFile("iperf3", args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout) => {
      let json = null;
      try { json = JSON.parse(stdout); } catch { /* not JSON */ }
      resolve({ err, json, stdout });
    });
  });
}

/**
 * One iperf3 client run to 127.0.0.1:port: `{time}` seconds or `{bytes}` to send,
 * `{streams}` parallel streams. Retries when the server is still busy with the last test.
 */
export async function iperfClient(port, { time, bytes, streams = 1 }) {
  const args = ["-c", "127.0.0.1", "-p", String(port), "-J", "-P", String(streams)];
  if (bytes) args.push("-n", String(bytes));
  else args.push("-t", String(time));
  const timeoutMs = ((time ?? 5) + 20) * 1000;
  let last;
  for (let attempt = 0; attempt < 4; attempt++) {
    last = await runOnce(args, timeoutMs);
    const error = last.json?.error ?? (last.err ? String(last.err.message).split("\n")[0] : null);
    if (!error && last.json?.end?.sum_received) return summarize(last.json);
    if (!/busy|connect|reset/i.test(error ?? "")) break;
    await sleep(500);
  }
  throw new Error(`iperf3 ${args.join(" ")} failed: ${last.json?.error ?? last.err?.message ?? last.stdout.slice(0, 500)}`);
}

function summarize(j) {
  const r = j.end.sum_received;
  const cpu = j.end.cpu_utilization_percent ?? {};
  return {
    bytes: r.bytes,
    seconds: r.seconds,
    gbPerSec: r.bits_per_second / 8 / 1e9,
    retransmits: j.end.sum_sent?.retransmits ?? null,
    clientCpuPct: cpu.host_total ?? null,
    serverCpuPct: cpu.remote_total ?? null,
  };
}
