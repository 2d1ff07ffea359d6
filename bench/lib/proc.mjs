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
  const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
  return { pid, comm, ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17), userTicks: n(14) + n(16) };
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

/** CPU seconds of a process tree in a snapshot (`user`: user-space time only). */
export function treeCpuSeconds(table, root, { user = false } = {}) {
  let ticks = 0;
  for (const p of treePids(table, root)) ticks += user ? table.get(p).userTicks : table.get(p).ticks;
  return ticks / CLK_TCK;
}

/**
 * CPU seconds, between two snapshots, of processes that are none of ours
 * (pids in `exclude`): other load on the box during a measurement.
 */
export function foreignCpuSeconds(before, after, exclude) {
  return foreignCpu(before, after, exclude).seconds;
}

/** Like foreignCpuSeconds, with the busiest of those processes ("comm(pid) seconds"). */
export function foreignCpu(before, after, exclude) {
  let ticks = 0;
  const top = [];
  for (const [pid, a] of after) {
    if (exclude.has(pid)) continue;
    const b = before.get(pid);
    // A process born during the window spent all its time in it; one that was born
    // and reaped in it is in its parent's cutime.
    const d = b ? Math.max(0, a.ticks - b.ticks) : a.ticks;
    ticks += d;
    if (d > 0) top.push({ name: `${a.comm}(${pid})`, seconds: d / CLK_TCK });
  }
  top.sort((x, y) => y.seconds - x.seconds);
  return { seconds: ticks / CLK_TCK, top: top.slice(0, 3).map((t) => `${t.name} ${t.seconds.toFixed(2)}s`) };
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

/** Context switches (voluntary, involuntary) summed over every thread of a process tree. */
export function treeCtxSwitches(root, table = snapshot()) {
  let voluntary = 0, involuntary = 0;
  for (const p of treePids(table, root)) {
    let tids;
    try { tids = fs.readdirSync(`/proc/${p}/task`); } catch { continue; }
    for (const t of tids) {
      try {
        const s = fs.readFileSync(`/proc/${p}/task/${t}/status`, "utf8");
        voluntary += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0);
        involuntary += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)?.[1] ?? 0);
      } catch { /* thread exited */ }
    }
  }
  return { voluntary, involuntary };
}
