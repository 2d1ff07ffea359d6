/**
 * The signals a running spliced handles: SIGTERM and SIGINT drain (a second
 * one exits at once), SIGHUP re-reads the config file, SIGUSR1 reopens the
 * access logs, and SIGUSR2, SIGALRM, SIGWINCH, SIGTTIN, SIGTTOU are ignored.
 *
 * @module
 */
import process from "node:process";
import { processLog as log } from "../log/logger.ts";
import type { Proxy } from "../proxy.ts";

/**
 * Signals a running spliced ignores. SIGPIPE is not among the handled ones:
 * both runtimes start with it ignored (SIG_IGN), which costs nothing per
 * broken pipe, where a handler would wake the main thread each time.
 */
const IGNORED_SIGNALS = ["SIGUSR2", "SIGALRM", "SIGWINCH", "SIGTTIN", "SIGTTOU"] as const;

/** The proxy once started: the early handlers read it. */
export interface Started {
  proxy?: Proxy;
}

/**
 * Installs the handlers of the signals that must not end spliced, before the
 * start so that none kills it while it binds (SIGUSR1 ends Bun by default,
 * SIGHUP both).
 */
export function handleSignalsEarly(state: Started): void {
  for (const sig of IGNORED_SIGNALS) process.on(sig, () => {});
  process.on("SIGUSR1", () => reopenOnSignal(state.proxy));
  process.on("SIGHUP", () => reloadOnSignal(state.proxy));
}

/** SIGTERM, SIGINT: drain for the grace period, then exit 0; a second one exits 1 at once. */
export function handleStopSignals(proxy: Proxy): void {
  let signalled = false;
  const onSignal = (sig: string) => {
    if (signalled) {
      log.warn("signal", `second ${sig}, exiting now`, { signal: sig });
      process.exit(1);
    }
    signalled = true;
    log.info("signal", `${sig}: shutting down`, { signal: sig });
    proxy.close().then(() => {
      log.info("shutdown", "stopped", { signal: sig });
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}

/** SIGUSR1: reopen the access log files (after logrotate moved them). */
function reopenOnSignal(proxy: Proxy | undefined): void {
  if (!proxy) return log.warn("signal", "SIGUSR1: still starting, no log to reopen yet", { signal: "SIGUSR1" });
  proxy.reopenLogs();
  log.info("reopen", "SIGUSR1: reopening access logs", { signal: "SIGUSR1" });
}

/** SIGHUP: re-read the config file, as nginx and HAProxy do. */
function reloadOnSignal(proxy: Proxy | undefined): void {
  const signal = "SIGHUP";
  if (!proxy) return log.warn("signal", "SIGHUP: still starting, not reloaded", { signal });
  if (!proxy.configPath) return log.warn("signal", "SIGHUP: started from flags, there is no config file to reload", { signal });
  const path = proxy.configPath;
  proxy.reload().then(
    (cfg) => {
      const fields = { signal, path, generation: proxy.stats().generation, listeners: cfg.listeners.map((l) => l.name) };
      log.info("reload", `SIGHUP: reloaded ${path} (${cfg.listeners.length} listeners)`, fields);
    },
    (err) => {
      const error = (err as Error).message;
      log.error("reload_failed", `SIGHUP: reload failed, still running the previous config: ${error}`, { signal, path, error });
    },
  );
}
