/**
 * The `spliced` command line (bin/spliced starts this file).
 *
 *   spliced tcp --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]
 *   spliced http --listen HOST:PORT --to HOST:PORT[,...] [options]
 *   spliced static --listen HOST:PORT --root DIR [options]
 *   spliced --config FILE            (or: spliced run --config FILE)
 *   spliced check --config FILE
 *   spliced COMMAND --help | --help | --version
 *
 * Every mistake is one line naming the flag (or the file and field path) and
 * the problem, never a stack trace. Exit codes: 0 ok, 1 runtime failure (a
 * busy port, a host name that does not resolve), 2 bad usage or config. The
 * parts are under src/cli/.
 *
 * @module
 */
import process from "node:process";
import { runCheck } from "./cli/check.ts";
import { isCommand } from "./cli/commands.ts";
import { EXIT_OK, exitCodeFor } from "./cli/exit.ts";
import { commandHelp, generalHelp } from "./cli/help.ts";
import { parseCommandLine } from "./cli/parse.ts";
import { commandConfig } from "./cli/source.ts";
import { runProxy } from "./cli/start.ts";
import { checkApplicable, checkCommand, checkRuntime } from "./cli/usage.ts";
import { describeBuild } from "./version.ts";

/** `spliced 0.1.0 (bun 1.4.5, glibc 2.36, x86_64)`; where the FFI cannot load, why, on stderr. */
async function printVersion(): Promise<number> {
  const { line, problem } = await describeBuild();
  console.log(line);
  if (problem) console.error(`spliced: ${problem}`);
  return EXIT_OK;
}

/** Runs the command `argv` names; resolves to the exit code, or rejects with what went wrong. */
async function main(argv: readonly string[]): Promise<number> {
  const { command, values } = parseCommandLine(argv);
  if (values.has("help")) return void console.log(isCommand(command) ? commandHelp(command) : generalHelp()), EXIT_OK;
  if (values.has("version")) return printVersion();
  checkCommand(command);
  checkRuntime(values.get("runtime"));
  checkApplicable(command, values);
  const cc = commandConfig(command, values);
  await (command === "check" ? runCheck(cc) : runProxy(cc, values));
  return EXIT_OK;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(exitCodeFor(err)),
);
