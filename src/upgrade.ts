/**
 * Zero-downtime upgrade and pid files.
 *
 * `spliced --config F --upgrade-from PIDFILE`: the new process joins the old
 * one's SO_REUSEPORT listening groups instead of failing as busy, starts its
 * workers, then sends the old process SIGTERM: it closes its listeners and
 * lets its connections finish. With `net.ipv4.tcp_migrate_req = 1` the kernel
 * moves connections still queued on the closing listeners to the new ones;
 * with 0 (the kernel's default) a connection that lands in the old accept
 * queue during the last instant before it closes is reset, so spliced warns.
 *
 * @module
 */
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import process from "node:process";
import { ConfigError } from "./errors.ts";
import { type Logger, processLog } from "./log/logger.ts";

const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

/** Reads the pid of the process to take over from; ConfigError naming the flag when it is not usable. */
export function readUpgradePid(path: string): number {
  const fail = (message: string): never => {
    throw new ConfigError("--upgrade-from", [{ path, message }]);
  };
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    fail(code === "ENOENT" ? "pid file not found" : `cannot read pid file: ${code ?? err}`);
  }
  const pid = /^\s*(\d+)\s*$/.exec(text)?.[1];
  if (pid === undefined || Number(pid) <= 1) fail("does not hold a process id");
  if (Number(pid) === process.pid) fail("names this process");
  const why = signalProblem(Number(pid));
  if (why) fail(why);
  return Number(pid);
}

/** Why this process could not signal `pid`, or undefined when it can (signal 0 checks without sending). */
function signalProblem(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ESRCH") return `process ${pid} is not running`;
    if (code === "EPERM") return `process ${pid} belongs to another user`;
    return `cannot signal process ${pid}: ${(err as Error).message.split("\n")[0]}`;
  }
}

/** Tells the old process to drain and exit, and logs the hand-over (a warning when it may lose a connection). */
export function handOver(pid: number, log: Logger = processLog): void {
  log.info("upgrade", `upgrade: serving beside pid ${pid}; sent it SIGTERM to drain`, { old_pid: pid });
  try {
    process.kill(pid, "SIGTERM");
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    log.error("upgrade", `upgrade: could not signal pid ${pid}: ${code}`, { old_pid: pid, error: code });
  }
  if (migrateReqSetting() === "0") {
    const setting = MIGRATE_REQ.slice(10).replaceAll("/", ".");
    log.warn("upgrade", `upgrade: warning: ${setting} is 0: a connection queued on the old process's listeners as they close may be reset; set it to 1 for a lossless hand-over`, {
      old_pid: pid, sysctl: setting, value: 0,
    });
  }
}

function migrateReqSetting(): string | undefined {
  try {
    return readFileSync(MIGRATE_REQ, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Writes this process's pid to `path` (ConfigError naming `--pid-file` on failure). */
export function writePidFile(path: string): void {
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    throw new ConfigError("--pid-file", [{ path, message: `cannot write: ${(err as { code?: string }).code ?? err}` }]);
  }
}

/** Removes the pid file if it still names this process (a newer one may have taken it over). */
export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // already gone or replaced: nothing to do
  }
}
