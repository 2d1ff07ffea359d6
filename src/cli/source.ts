/**
 * The config a command runs or checks: built from flags (`tcp`, `http`,
 * `static`) or read from `--config FILE` (`run`, `check`), with `--workers`
 * and `--admin-token-file` applied, and how its mistakes are to be worded.
 *
 * @module
 */
import { loadConfigFile, validateConfig, type ConfigInput } from "../config.ts";
import { UsageError } from "../errors.ts";
import type { ValidConfig } from "../proxy.ts";
import { FLAG_COMMANDS } from "./commands.ts";
import { flagConfig, logFlags, numberFlag } from "./flags.ts";
import { stringValue, type Values } from "./parse.ts";
import { asFlags, asIs, inTermsSync, type Restate } from "./terms.ts";

/** Where a flag-built config comes from, in messages. */
const COMMAND_LINE = "command line";

/** The config of a command, where it came from, and how its mistakes are worded. */
export interface CommandConfig {
  readonly config: ValidConfig;
  /** `command line`, or the config file's path. */
  readonly source: string;
  /** Whether flags built it (`tcp`, `http`, `static`). */
  readonly fromFlags: boolean;
  /** The `--admin-token-file` given, if any. */
  readonly tokenFile?: string;
  /** Restates the config's issues in the terms it was given in (flags, or the file's fields). */
  readonly terms: Restate;
}

/** The config `command` runs or checks; throws UsageError or ConfigError. */
export function commandConfig(command: string, values: Values): CommandConfig {
  const fromFlags = FLAG_COMMANDS.includes(command);
  const { config, source } = fromFlags ? fromFlagValues(command, values) : fromFile(command, values);
  const tokenFile = stringValue(values, "admin-token-file");
  return { config: withTokenFile(config, tokenFile, command), source, fromFlags, tokenFile, terms: termsFor(fromFlags, tokenFile) };
}

/** The config the flags of `tcp`, `http` or `static` describe, validated. */
function fromFlagValues(command: string, values: Values): { config: ValidConfig; source: string } {
  const input = flagConfig(command, values);
  return { config: inTermsSync(asFlags, () => validateConfig(input, COMMAND_LINE)), source: COMMAND_LINE };
}

/**
 * The config file of `run` or `check`, with `--workers` instead of the file's
 * workers, and `--log-format`, `--log-level` instead of its `log` settings.
 */
function fromFile(command: string, values: Values): { config: ValidConfig; source: string } {
  const path = stringValue(values, "config");
  if (path === undefined) throw new UsageError(`${command} needs --config FILE`, command);
  const config = loadConfigFile(path);
  const workers = stringValue(values, "workers");
  const log = logFlags(values);
  if (workers === undefined && log === undefined) return { config, source: path };
  const input = { workers: workers === undefined ? config.workers : numberFlag(workers), log, listeners: config.listeners } as ConfigInput;
  const checked = inTermsSync(asFlags, () => validateConfig(input, COMMAND_LINE));
  return { config: { ...config, workers: checked.workers, ...(log && { log: { ...config.log, ...checked.log } }) }, source: path };
}

/** `--admin-token-file` overrides the config's token settings; it needs an admin address. */
function withTokenFile(config: ValidConfig, path: string | undefined, command: string): ValidConfig {
  if (path === undefined) return config;
  if (!config.admin) {
    throw new UsageError("--admin-token-file needs an admin address (--admin HOST:PORT, or admin.listen in the config)", command);
  }
  return { ...config, admin: { ...config.admin, tokenFile: path } };
}

/** Flags for a flag-built config; a file's fields, but admin.tokenFile when --admin-token-file set it. */
function termsFor(fromFlags: boolean, tokenFile: string | undefined): Restate {
  if (fromFlags) return asFlags;
  if (tokenFile === undefined) return asIs;
  return (issues) => issues.map((i) => (i.path === "admin.tokenFile" ? { ...i, path: "--admin-token-file" } : i));
}
