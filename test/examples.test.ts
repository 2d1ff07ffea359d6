/**
 * The examples run on the runtime running the tests and print what they claim.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT, testRuntime } from "./helpers/spliced.ts";

const run = promisify(execFile);

test("examples/library.ts: round trip through the library, bytes spliced", { timeout: 60_000 }, async () => {
  const rt = testRuntime();
  const bin = `${ROOT}node_modules/.bin/${rt}`;
  const args = rt === "deno" ? ["run", "--allow-all", "examples/library.ts"] : ["examples/library.ts"];
  const { stdout } = await run(bin, args, { cwd: ROOT, timeout: 50_000 });
  assert.match(stdout, /^reply: hello through spliced$/m);
  assert.match(stdout, /^spliced bytes: 42, copied bytes: 0$/m);
});
