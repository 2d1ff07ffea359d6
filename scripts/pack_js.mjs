/**
 * `npm pack`'s prepack step (run by Bun): writes dist/, the JavaScript the
 * package runs on Deno.
 *
 * Deno, like Node, refuses to strip types from a file under node_modules (or
 * its npm cache): ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING. So the package
 * ships each .ts of src/ and ffi/ (tests left out) transpiled to .mjs by Bun's
 * own transpiler (what Bun runs anyway), relative `.ts` specifiers rewritten to
 * `.mjs` (not `.js`: src/admin/dashboard.js is the page's script, beside
 * dashboard.ts), and the other files (dashboard.html, .css, .js) copied as they are.
 * Bun keeps running the TypeScript sources. dist/types/ holds declarations
 * (`tsc --emitDeclarationOnly` from src/mod.ts) for the exports map's `types`:
 * a user's tsc or `deno check` then never type-checks spliced's own sources,
 * which are written for two runtimes at once (ffi/deno.ts needs Deno's types,
 * ffi/bun.ts Bun's). The repository's own type check is `npm run check`;
 * tsc's complaints here about the other runtime's globals are expected and
 * only counted. postpack removes dist/.
 *
 *   bun scripts/pack_js.mjs          (from the repository root)
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const OUT = "dist";
const TREES = ["src", "ffi"];

/** Rewrites `"./x.ts"` and `"../y/z.ts"` string literals to `.mjs`. */
export function rewriteSpecifiers(code) {
  return code.replace(/(["'])(\.{1,2}\/[^"'\n]*?)\.ts\1/g, "$1$2.mjs$1");
}

/** Every file under `dir`, as paths relative to the repository root. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]
  );
}

function build() {
  if (typeof Bun === "undefined") throw new Error("scripts/pack_js.mjs runs on Bun (npm pack runs it as its prepack step)");
  const transpiler = new Bun.Transpiler({ loader: "ts", target: "browser" });
  rmSync(OUT, { recursive: true, force: true });
  let count = 0;
  for (const file of TREES.flatMap(walk)) {
    if (file.endsWith(".test.ts") || file.endsWith(".d.ts") || file === join("ffi", "sys_contract.ts")) continue; // tests only
    const isTs = file.endsWith(".ts");
    const target = join(OUT, isTs ? file.slice(0, -3) + ".mjs" : file);
    mkdirSync(dirname(target), { recursive: true });
    if (isTs) writeFileSync(target, rewriteSpecifiers(transpiler.transformSync(readFileSync(file, "utf8"))));
    else copyFileSync(file, target);
    count++;
  }
  const types = declarations();
  console.error(`pack_js: ${count} files in ${OUT}/, ${types}`); // stderr: npm pack --json owns stdout
}

/** Writes dist/types/ (declarations of src/mod.ts and what it imports); says how many tsc errors it ignored. */
function declarations() {
  const config = join(OUT, "tsconfig.types.json");
  writeFileSync(config, JSON.stringify({
    compilerOptions: {
      target: "esnext", module: "preserve", moduleResolution: "bundler", lib: ["esnext"], types: ["bun-types"],
      strict: true, allowImportingTsExtensions: true, skipLibCheck: true,
      declaration: true, emitDeclarationOnly: true, rootDir: "..", outDir: "types",
    },
    files: ["../src/mod.ts"],
  }));
  const tsc = spawnSync("node_modules/.bin/tsc", ["-p", config], { encoding: "utf8" });
  rmSync(config);
  if (tsc.error || !existsSync(join(OUT, "types", "src", "mod.d.ts"))) {
    throw new Error(`pack_js: tsc wrote no ${OUT}/types/src/mod.d.ts: ${tsc.error?.message ?? tsc.stdout}`);
  }
  const ignored = (tsc.stdout.match(/error TS\d+/g) ?? []).length;
  return `declarations in ${OUT}/types/ (${ignored} tsc errors from one runtime's view of the other's code ignored)`;
}

build();
