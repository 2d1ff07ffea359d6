/**
 * Starting spliced (`tcp`, `http`, `static`, `run`): preflight, then bind,
 * announce, handle signals, and wait for the proxy to close.
 *
 * @module
 */
import { currentRuntime } from "../../ffi/mod.ts";
import { assertPreflight } from "../config.ts";
import type { LogFormat, LogLevel } from "../log/logger.ts";
import { startProxy } from "../proxy.ts";
import { announce } from "./announce.ts";
import { stringValue, type Values } from "./parse.ts";
import { checkAdmin, warn } from "./preflight.ts";
import { handleSignalsEarly, handleStopSignals, type Started } from "./signals.ts";
import type { CommandConfig } from "./source.ts";
import { inTerms } from "./terms.ts";

/** Runs the proxy `cc` describes until it has closed (drained after SIGTERM or SIGINT). */
export async function runProxy(cc: CommandConfig, values: Values): Promise<void> {
  const warnings = await inTerms(cc.terms, () => assertPreflight(cc.config, cc.source));
  await checkAdmin(cc);
  warn(cc.source, cc.terms(warnings));
  const state: Started = {};
  handleSignalsEarly(state);
  const proxy = await startProxy(cc.config, {
    configPath: stringValue(values, "config"),
    pidFile: stringValue(values, "pid-file"),
    upgradeFrom: stringValue(values, "upgrade-from"),
    // Given flags beat the file's log block, at start and at each reload (checked with the config).
    log: {
      format: stringValue(values, "log-format") as LogFormat | undefined, level: stringValue(values, "log-level") as LogLevel | undefined,
      file: stringValue(values, "log-file"),
    },
  });
  state.proxy = proxy;
  announce(proxy, currentRuntime());
  handleStopSignals(proxy);
  await proxy.closed;
}
