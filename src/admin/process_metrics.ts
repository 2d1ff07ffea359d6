/**
 * The standard Prometheus process metrics (`process_*`), read from this
 * process at scrape time: the same names and units as the official client
 * libraries, so stock dashboards and alerts work.
 *
 * - CPU and memory come from `process.cpuUsage()` / `process.memoryUsage()`:
 *   both runtimes fill them from getrusage/procfs for the whole process, the
 *   data-plane worker threads included (checked against /proc/PID/stat).
 * - Open fds and RLIMIT_NOFILE come through the FFI (src/admin/fds.ts): Deno
 *   refuses /proc/self to `node:fs` without --allow-all.
 * - The start time is /proc/self/stat's `starttime` plus /proc/stat's `btime`,
 *   read once through the FFI.
 *
 * @module
 */
import process from "node:process";
import { O_CLOEXEC, O_RDONLY } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/mod.ts";
import { fileLimit, openFds } from "./fds.ts";

/** What the `process_*` families report; a field left undefined is not exposed. */
export interface ProcessFacts {
  readonly residentMemoryBytes: number;
  /** User plus system CPU time of every thread, seconds. */
  readonly cpuSecondsTotal: number;
  readonly openFds?: number;
  readonly maxFds?: number;
  /** Seconds since the epoch. */
  readonly startTimeSeconds?: number;
}

/** Clock ticks per second of /proc's times (USER_HZ): 100 in the Linux ABI on x86_64 and aarch64. */
const USER_HZ = 100;

/** Reads a small /proc file through the FFI; undefined when it cannot be read. */
export function readProcFile(sys: Sys, path: string): string | undefined {
  const fd = sys.open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(4096);
    let text = "";
    for (;;) {
      const n = sys.read(fd, buf, buf.length);
      if (n < 0) return undefined;
      if (n === 0) return text + decoder.decode();
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    sys.close(fd);
  }
}

/**
 * Process start in seconds since the epoch from the texts of /proc/self/stat
 * and /proc/stat, or undefined if either is malformed. The command name in
 * /proc/self/stat may hold spaces and parentheses: fields are counted after
 * the last ")".
 */
export function startTimeFromProc(selfStat: string, procStat: string): number | undefined {
  const rest = selfStat.slice(selfStat.lastIndexOf(")") + 2).split(" ");
  // After ")" come field 3 (state) onwards; starttime is field 22.
  const ticks = Number(rest[22 - 3]);
  const btime = Number(/^btime (\d+)$/m.exec(procStat)?.[1]);
  if (!Number.isFinite(ticks) || !Number.isFinite(btime) || rest.length < 20) return undefined;
  return btime + ticks / USER_HZ;
}

let startTime: number | undefined;

function processStartTime(sys: Sys): number | undefined {
  if (startTime !== undefined) return startTime;
  const selfStat = readProcFile(sys, "/proc/self/stat");
  const procStat = readProcFile(sys, "/proc/stat");
  if (selfStat && procStat) startTime = startTimeFromProc(selfStat, procStat);
  return startTime;
}

/** Reads the process facts now; without a loaded {@link Sys} only CPU and memory are known. */
export function readProcessFacts(sys: Sys | undefined): ProcessFacts {
  const cpu = process.cpuUsage();
  const facts = { residentMemoryBytes: process.memoryUsage().rss, cpuSecondsTotal: (cpu.user + cpu.system) / 1e6 };
  if (!sys) return facts;
  const open = openFds(sys);
  const max = fileLimit(sys);
  return {
    ...facts,
    openFds: open !== undefined && Number.isFinite(open) ? open : undefined,
    maxFds: Number.isFinite(max) ? max : undefined,
    startTimeSeconds: processStartTime(sys),
  };
}

/** One `process_*` family: name, type, help and the value (undefined: left out). */
export interface ProcessSample {
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly help: string;
  readonly value: number | undefined;
}

/** The families in the order they are exposed. */
export function processSamples(f: ProcessFacts): ProcessSample[] {
  return [
    { name: "process_cpu_seconds_total", type: "counter", help: "Total user and system CPU time spent in seconds.", value: f.cpuSecondsTotal },
    { name: "process_resident_memory_bytes", type: "gauge", help: "Resident memory size in bytes.", value: f.residentMemoryBytes },
    { name: "process_open_fds", type: "gauge", help: "Number of open file descriptors.", value: f.openFds },
    { name: "process_max_fds", type: "gauge", help: "Maximum number of open file descriptors.", value: f.maxFds },
    { name: "process_start_time_seconds", type: "gauge", help: "Start time of the process since unix epoch in seconds.", value: f.startTimeSeconds },
  ];
}
