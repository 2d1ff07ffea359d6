// Reading CPU time and memory of process trees from /proc.
import { execFileSync } from "node:child_process";
import fs from "node:fs";

/** Clock ticks per second (utime/stime unit in /proc/PID/stat). */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Parses /proc/PID/stat: ppid and CPU ticks (own threads + reaped children). */
function readStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after "(comm)" start at field 3 (state); comm may hold spaces or ')'.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const n = (i) => Number(f[i - 3]);
  // utime(14)+stime(15) cover all threads of the process, live and exited;
  // cutime(16)+cstime(17) cover its children that were reaped (e.g. socat's forks).
  return { pid, ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
}

/** All processes now: pid → {pid, ppid, ticks}. */
export function snapshot() {
  const table = new Map();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) table.set(s.pid, s);
  }
  return table;
}

/** `root` and its descendants in a snapshot. */
export function treePids(table, root) {
  const kids = new Map();
  for (const s of table.values()) {
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(s.pid);
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop();
    if (!table.has(p)) continue;
    out.push(p);
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** CPU seconds of a process tree in a snapshot. */
export function treeCpuSeconds(table, root) {
  let ticks = 0;
  for (const p of treePids(table, root)) ticks += table.get(p).ticks;
  return ticks / CLK_TCK;
}

/**
 * CPU seconds, between two snapshots, of processes that are none of ours
 * (pids in `exclude`): other load on the box during a measurement.
 */
export function foreignCpuSeconds(before, after, exclude) {
  let ticks = 0;
  for (const [pid, a] of after) {
    if (exclude.has(pid)) continue;
    const b = before.get(pid);
    if (b) ticks += Math.max(0, a.ticks - b.ticks);
  }
  return ticks / CLK_TCK;
}

/** Busy and total jiffies of the whole machine (from /proc/stat). */
export function machineTicks() {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** VmRSS in KiB summed over a process tree. */
export function treeRssKiB(root) {
  let kib = 0;
  for (const p of treePids(snapshot(), root)) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) kib += Number(m[1]);
    } catch { /* exited */ }
  }
  return kib;
}

/** Open fds of a process tree, and how many of them are pipes. */
export function treeFds(root) {
  let fds = 0, pipes = 0;
  for (const p of treePids(snapshot(), root)) {
    let names;
    try { names = fs.readdirSync(`/proc/${p}/fd`); } catch { continue; }
    for (const n of names) {
      fds++;
      try { if (fs.readlinkSync(`/proc/${p}/fd/${n}`).startsWith("pipe:")) pipes++; } catch { /* closed */ }
    }
  }
  return { fds, pipes };
}
