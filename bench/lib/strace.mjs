// Syscall summary (strace -f -c) of a proxy during a short, unmeasured transfer.
import fs from "node:fs";
import { iperfClient } from "./iperf.mjs";
import { launch, sleep, splicedStats } from "./peers.mjs";

/** Parses `strace -c` output into rows {syscall, calls, errors, seconds, pct}. */
export function parseStraceSummary(text) {
  const rows = [];
  for (const line of text.split("\n")) {
    const m = /^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$/.exec(line);
    if (m && m[6] !== "total") {
      rows.push({ pct: Number(m[1]), seconds: Number(m[2]), calls: Number(m[4]), errors: Number(m[5] ?? 0), syscall: m[6] });
    }
  }
  return rows.sort((a, b) => b.calls - a.calls);
}

/**
 * Attaches `strace -f -c` to the proxy `p`, pushes `bytes` through it with iperf3,
 * detaches, and returns the summary with calls per MiB moved.
 */
export async function straceTransfer(p, { bytes, outFile }) {
  const st = launch("strace", ["-f", "-c", "-o", outFile, "-p", String(p.pid)]);
  // strace reports each attached thread on stderr.
  const until = Date.now() + 5000;
  while (!/attached/.test(st.out) && Date.now() < until && !st.exited) await sleep(50);
  await sleep(300);
  const statsBefore = await splicedStats(p.admin);
  const result = await iperfClient(p.port, { bytes, streams: 1 });
  await sleep(300);
  const statsAfter = await splicedStats(p.admin);
  st.child.kill("SIGINT");
  await st.exit;
  const text = fs.readFileSync(outFile, "utf8");
  const mibMoved = result.bytes / 2 ** 20;
  const rows = parseStraceSummary(text).map((r) => ({ ...r, perMiB: r.calls / mibMoved }));
  let spliced = null;
  if (statsBefore && statsAfter) {
    spliced = {
      bytesSpliced: statsAfter.bytes_spliced - statsBefore.bytes_spliced,
      bytesCopied: statsAfter.bytes_copied - statsBefore.bytes_copied,
    };
  }
  return { text, rows, bytes: result.bytes, gbPerSecUnderStrace: result.gbPerSec, spliced };
}
