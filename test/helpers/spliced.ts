/**
 * Starts `./bin/spliced` as a child process on the runtime running the tests,
 * the way people start it, and gives tests its addresses, stats and fd count.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { currentRuntime } from "../../ffi/mod.ts";

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The launcher script. */
export const BIN = `${ROOT}bin/spliced`;

/** The runtime the proxy under test runs on: the one running the tests. */
export function testRuntime(): string {
  const rt = currentRuntime();
  return rt === "other" ? "bun" : rt;
}

/** Result of running the CLI to completion. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `spliced ARGS` to completion (for check, help, and start failures). */
export function runCli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["--runtime", testRuntime(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running proxy process. */
export interface SplicedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Port of each listener by name. */
  readonly ports: Record<string, number>;
  /** Port of the first listener. */
  readonly port: number;
  readonly adminPort: number;
  /** Everything printed so far. */
  output(): string;
  /** GET /stats as JSON. */
  stats(): Promise<any>;
  /** Number of entries in /proc/PID/fd. */
  fdCount(): number;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

/** Starts `spliced ARGS` (admin on port 0 is added unless present) and waits until it listens. */
export async function startSpliced(args: string[]): Promise<SplicedProcess> {
  const full = args.includes("--admin") || args.includes("--config") ? args : [...args, "--admin", "127.0.0.1:0"];
  const child = spawn(BIN, ["--runtime", testRuntime(), ...full], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  await waitFor(() => startLines(out).adminPort !== undefined, exited, () => out);
  const { ports, adminPort } = startLines(out) as { ports: Record<string, number>; adminPort: number };
  return {
    child, pid: child.pid!, ports, port: Object.values(ports)[0], adminPort, exited,
    output: () => out,
    stats: async () => (await fetch(`http://127.0.0.1:${adminPort}/stats`, { headers: { connection: "close" } })).json(),
    fdCount: () => readdirSync(`/proc/${child.pid}/fd`).length,
    stop: (signal = "SIGTERM") => {
      // process.kill, not child.kill: Deno's node:child_process reports any child it
      // signalled as killed by that signal, even when the child handled it and exited 0.
      try {
        process.kill(child.pid!, signal);
      } catch {
        // already gone
      }
      return exited;
    },
  };
}

/**
 * Listener and admin ports from the start lines: text (`listener NAME MODE HOST:PORT -> ...`,
 * `admin http://HOST:PORT/ ...`) or, with `--log-format json`, the `listener` and `admin` events.
 */
export function startLines(out: string): { ports: Record<string, number>; adminPort?: number } {
  const ports: Record<string, number> = {};
  let adminPort: number | undefined;
  for (const m of out.matchAll(/^listener (\S+) \S+ \S+:(\d+) ->/gm)) ports[m[1]] = Number(m[2]);
  const text = /^admin http:\/\/\S+:(\d+)\//m.exec(out);
  if (text) adminPort = Number(text[1]);
  for (const line of out.split("\n")) {
    if (!line.startsWith("{") || !line.endsWith("}")) continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // a line cut by the other stream's output
    }
    if (record.event === "listener") ports[record.name] = record.port;
    if (record.event === "admin" && typeof record.port === "number") adminPort = record.port;
  }
  return { ports, adminPort };
}

/** How long a start may take: 30 s, or SPLICED_TEST_START_S (npm run test:arm64 sets it: emulated starts are slow). */
const START_LIMIT_S = Number(process.env.SPLICED_TEST_START_S) || 30;

async function waitFor(ready: () => boolean, exited: Promise<unknown>, out: () => string): Promise<void> {
  let gone = false;
  exited.then(() => (gone = true));
  const deadline = Date.now() + START_LIMIT_S * 1000;
  while (!ready()) {
    if (gone) throw new Error(`spliced exited during start:\n${out()}`);
    if (Date.now() > deadline) throw new Error(`spliced did not start in ${START_LIMIT_S} s:\n${out()}`);
    await sleep(20);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true or `ms` pass; returns the last result. */
export async function eventually(probe: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
}

/**
 * The proxy's fd count once its admin server closed the sockets of earlier
 * /stats requests (the runtime closes them lazily). With `expected`, waits up
 * to 5 s for the count to come back to it and returns the last count seen.
 */
export async function quietFdCount(proxy: SplicedProcess, expected?: number): Promise<number> {
  await sleep(300);
  let count = proxy.fdCount();
  if (expected === undefined) return count;
  await eventually(() => (count = proxy.fdCount()) === expected, 5_000);
  return count;
}

/** How many fds of process `pid` have `path` open (each worker opens a log file of its own). */
export function openedBy(pid: number | "self", path: string): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
