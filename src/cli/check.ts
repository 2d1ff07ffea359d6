/**
 * `spliced check`: the config and what it names (addresses, paths, host
 * names) checked, errors refused, warnings printed, nothing bound.
 *
 * @module
 */
import { preflightConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { checkAdmin, warn } from "./preflight.ts";
import type { CommandConfig } from "./source.ts";

/** Checks `cc`: prints `SOURCE: ok` (and the warnings' count), or throws ConfigError. */
export async function runCheck(cc: CommandConfig): Promise<void> {
  const report = await preflightConfig(cc.config);
  if (report.errors.length) throw new ConfigError(cc.source, cc.terms(report.errors));
  await checkAdmin(cc);
  warn(cc.source, cc.terms(report.unresolved), " (it may resolve by the time spliced starts)");
  warn(cc.source, cc.terms(report.warnings));
  const count = report.unresolved.length + report.warnings.length;
  console.log(`${cc.source}: ok${count ? ` (${count} warning${count === 1 ? "" : "s"})` : ""}`);
}
