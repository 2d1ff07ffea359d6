/**
 * Checks of a parsed command line that are about usage: the command is
 * known, the options apply to it, and `--runtime` names this runtime.
 *
 * @module
 */
import { currentRuntime } from "../../ffi/mod.ts";
import { suggest } from "../config/suggest.ts";
import { UsageError } from "../errors.ts";
import { COMMANDS, CONFIG_COMMANDS, isCommand, LISTENER_OPTIONS } from "./commands.ts";
import { GLOBAL_OPTIONS } from "./options.ts";
import type { Values } from "./parse.ts";

/** Refuses a missing or unknown command, with the command a typo meant. */
export function checkCommand(command: string): void {
  if (isCommand(command)) return;
  if (!command) throw new UsageError("no command given", "");
  const near = suggest(command, Object.keys(COMMANDS));
  throw new UsageError(`unknown command "${command}"${near ? `; did you mean "${near}"?` : ""}`, "");
}

/** `--runtime` reaches here only when cli.ts was started directly: then it must name this runtime. */
export function checkRuntime(value: string | true | undefined): void {
  if (typeof value !== "string") return;
  if (value !== "bun" && value !== "deno") throw new UsageError(`--runtime: unknown runtime "${value}" (use bun or deno)`);
  const here = currentRuntime();
  if (value !== here) throw new UsageError(`--runtime ${value}: this is ${here}; start spliced with bin/spliced, which picks the runtime`);
}

/** Refuses options that do not apply to `command`, saying why for --config and the listener's options. */
export function checkApplicable(command: string, values: Values): void {
  const spec = COMMANDS[command];
  for (const name of values.keys()) {
    if (!GLOBAL_OPTIONS.includes(name) && !spec.options.includes(name)) throw notApplicable(command, name);
  }
}

/** Why option `name` does not apply to `command`. */
function notApplicable(command: string, name: string): UsageError {
  if (CONFIG_COMMANDS.includes(command) && LISTENER_OPTIONS.has(name)) {
    return new UsageError(`--${name} does not apply with --config: the listeners and their settings come from the file`, command);
  }
  if (name === "config") {
    return new UsageError(`--config does not apply to ${command}: run a config file with "spliced run --config FILE"`, command);
  }
  return new UsageError(`--${name} does not apply to ${command}`, command);
}
