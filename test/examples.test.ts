/**
 * The examples run on the runtime running the tests and print what they claim.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT, runCli, testRuntime } from "./helpers/spliced.ts";

const run = promisify(execFile);

test("examples/library.ts: round trip through the library, bytes spliced", { timeout: 60_000 }, async () => {
  const rt = testRuntime();
  const bin = `${ROOT}node_modules/.bin/${rt}`;
  const args = rt === "deno" ? ["run", "--allow-all", "examples/library.ts"] : ["examples/library.ts"];
  const { stdout } = await run(bin, args, { cwd: ROOT, timeout: 50_000 });
  assert.match(stdout, /^reply: hello through spliced$/m);
  assert.match(stdout, /^spliced bytes: 42, copied bytes: 0$/m);
});

test("every examples/*.json passes spliced check", { timeout: 120_000 }, async () => {
  const files = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".json")).sort();
  assert.ok(files.length >= 2, `examples found: ${files}`);
  for (const file of files) {
    const r = await runCli(["check", "--config", join(ROOT, "examples", file)]);
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    assert.match(r.stdout, /: ok/, file);
  }
});
