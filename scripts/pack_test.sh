#!/usr/bin/env bash
# The package as users get it: `npm pack`s the tarball, then in empty temporary
# projects installs it
#   - with only bun:  spliced --version (node_modules/.bin, npx, bunx), the
#     library script scripts/pack_test/lib_check.ts on Bun (one connection
#     proxied, bytes compared by SHA-256, adminApp read), and `tsc` over it;
#   - with only deno: spliced --version (node_modules/.bin, `deno run npm:spliced`
#     with the documented permissions), lib_check.ts on Deno, `deno check` over it
#     (with @types/node, which deno check needs beside a node_modules folder);
#   - with both:      bun by default and under bunx, deno under `deno task`, or as --runtime says;
#   - with neither:   spliced says how to get a runtime (exit 1), and finds one on PATH.
# Also: the tarball holds no tests or benchmarks, and installs no runtime itself.
# Uses the npm cache (--prefer-offline), so it is quick after `npm ci`.
# Last line: `package test: ok (N checks, S s)` or `package test: FAILED (...)`; exit 0 or 1.
#   bash scripts/pack_test.sh          (from anywhere; keeps nothing)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 npm_config_audit=false npm_config_fund=false \
  npm_config_update_notifier=false
# No runtime from elsewhere: the projects must bring their own (drop node_modules/.bin dirs from PATH).
PATH="$(tr ':' '\n' <<<"$PATH" | grep -v node_modules | paste -sd: -)"
unset npm_config_user_agent SPLICED_RUNTIME
started=$SECONDS
tmp="$(mktemp -d "${TMPDIR:-/tmp}/spliced-pack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 failures=()

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1"; [[ -n "${2:-}" ]] && sed 's/^/     | /' <<<"$2" | tail -n 20; }
# check NAME CMD...: runs CMD (output kept), ok when it exits 0.
check() {
  local name="$1" out; shift
  if out="$("$@" 2>&1)"; then ok "$name"; else fail "$name (exit $?)" "$out"; fi
}
# expect_version NAME RUNTIME CMD...: ok when CMD prints the package's version, on RUNTIME when it names one
# (`spliced 0.1.0 (bun 1.4.5, ...)`; a bare `0.1.0` names none).
expect_version() {
  local name="$1" runtime="$2" out; shift 2
  out="$("$@" 2>&1)"
  local rc=$?
  if ((rc == 0)) && [[ "$out" == "$VERSION" || "$out" == "spliced $VERSION ($runtime "* ]]; then ok "$name"
  else fail "$name (exit $rc, wanted $VERSION on $runtime)" "$out"; fi
}
version_of() { node -p "require('$repo/node_modules/$1/package.json').version"; }
finish() {
  local took=$((SECONDS - started))
  if ((failed == 0)); then
    echo "package test: ok ($passed checks, ${took} s)"
    exit 0
  fi
  echo "package test: FAILED ($failed of $((passed + failed)) checks: ${failures[*]}; ${took} s)"
  exit 1
}

VERSION="$(node -p "require('./package.json').version")"
BUN_VERSION="$(node -p "require('./package.json').devDependencies.bun")"
DENO_VERSION="$(node -p "require('./package.json').devDependencies.deno")"
TS_VERSION="$(version_of typescript)" BUN_TYPES_VERSION="$(version_of bun-types)" TYPES_NODE_MAJOR=24

# --- the tarball
if ! pack_json="$(npm pack --json --pack-destination "$tmp" 2>"$tmp/pack.err")"; then
  fail "npm pack" "$(cat "$tmp/pack.err")"
  finish
fi
tarball="$tmp/$(node -e 'console.log(JSON.parse(process.argv[1])[0].filename)' "$pack_json")"
ok "npm pack: $(basename "$tarball")"
contents="$(node -e 'for (const f of JSON.parse(process.argv[1])[0].files) console.log(f.path)' "$pack_json")"
unwanted="$(grep -E '(^|/)[^/]*\.test\.ts$|^(test|bench|docs|scripts|\.ci)/' <<<"$contents")"
if [[ -z "$unwanted" ]]; then ok "tarball: no tests, benchmarks, docs or scripts ($(wc -l <<<"$contents") files)"
else fail "tarball: holds files it should not" "$unwanted"; fi
missing=""
for f in bin/spliced src/mod.ts src/cli.ts ffi/mod.ts dist/src/mod.mjs dist/src/cli.mjs dist/src/admin/dashboard.html dist/types/src/mod.d.ts \
  deno.json README.md LICENSE examples/default.json; do
  grep -qx "$f" <<<"$contents" || missing+="$f "
done
if [[ -z "$missing" ]]; then ok "tarball: bin, src, ffi, dist, deno.json, README, LICENSE, examples"
else fail "tarball: missing $missing"; fi
[[ -d dist ]] && fail "npm pack left dist/ in the repository"

# project DIR RUNTIME_SPECS...: an empty project with the tarball and RUNTIME_SPECS installed.
project() {
  local dir="$1"; shift
  mkdir -p "$dir"
  printf '{ "private": true, "type": "module", "allowScripts": { "bun": true, "deno": true } }\n' >"$dir/package.json"
  (cd "$dir" && npm install --prefer-offline --no-audit --no-fund "$tarball" "$@" >"$dir/npm.log" 2>&1)
}

# --- with only bun
bp="$tmp/with-bun"
if project "$bp" "bun@$BUN_VERSION" "typescript@$TS_VERSION" "bun-types@$BUN_TYPES_VERSION"; then
  ok "bun project: npm install spliced bun"
  if [[ ! -e "$bp/node_modules/deno" ]]; then ok "bun project: no deno installed"; else fail "bun project: deno came along"; fi
  expect_version "bun project: node_modules/.bin/spliced --version" bun "$bp/node_modules/.bin/spliced" --version
  expect_version "bun project: npx spliced --version" bun bash -c 'cd "$1" && npx --no-install spliced --version' _ "$bp"
  expect_version "bun project: bunx spliced --version" bun bash -c 'cd "$1" && node_modules/.bin/bunx spliced --version' _ "$bp"
  cp scripts/pack_test/lib_check.ts "$bp/"
  check "bun project: lib_check.ts on Bun (startProxy, one connection by sha256, adminApp)" \
    bash -c 'cd "$1" && node_modules/.bin/bun lib_check.ts bun' _ "$bp"
  cat >"$bp/tsconfig.json" <<'EOF'
{ "compilerOptions": { "target": "esnext", "module": "preserve", "moduleResolution": "bundler", "lib": ["esnext"],
  "types": ["bun-types"], "strict": true, "noEmit": true },
  "files": ["lib_check.ts"] }
EOF
  check "bun project: tsc --noEmit (types from the exports map)" bash -c 'cd "$1" && node_modules/.bin/tsc -p tsconfig.json' _ "$bp"
else
  fail "bun project: npm install" "$(cat "$bp/npm.log")"
fi

# --- with only deno
dp="$tmp/with-deno"
perms=(--allow-ffi --allow-net --allow-read --allow-write --allow-env --allow-sys --allow-run)
# @types/node: `deno check` with a node_modules folder takes Node's types from there (Deno's rule for npm packages).
if project "$dp" "deno@$DENO_VERSION" "@types/node@$TYPES_NODE_MAJOR"; then
  ok "deno project: npm install spliced deno @types/node"
  if [[ ! -e "$dp/node_modules/bun" ]]; then ok "deno project: no bun installed"; else fail "deno project: bun came along"; fi
  expect_version "deno project: node_modules/.bin/spliced --version" deno "$dp/node_modules/.bin/spliced" --version
  expect_version "deno project: deno run npm:spliced --version" deno \
    bash -c 'cd "$1" && shift && node_modules/.bin/deno run --quiet "$@" npm:spliced --version' _ "$dp" "${perms[@]}"
  cp scripts/pack_test/lib_check.ts "$dp/"
  check "deno project: lib_check.ts on Deno (startProxy, one connection by sha256, adminApp)" \
    bash -c 'cd "$1" && shift && node_modules/.bin/deno run --quiet "$@" lib_check.ts deno' _ "$dp" "${perms[@]}"
  check "deno project: deno check lib_check.ts" bash -c 'cd "$1" && node_modules/.bin/deno check --quiet lib_check.ts' _ "$dp"
else
  fail "deno project: npm install" "$(cat "$dp/npm.log")"
fi

# --- with both: the one that starts it wins (bunx, deno task), else --runtime / SPLICED_RUNTIME, else bun
two="$tmp/with-both"
if project "$two" "bun@$BUN_VERSION" "deno@$DENO_VERSION"; then
  node -e 'const f=process.argv[1], p=JSON.parse(require("fs").readFileSync(f)); p.scripts={v:"spliced --version"}; require("fs").writeFileSync(f, JSON.stringify(p))' "$two/package.json"
  expect_version "both runtimes: spliced --version runs on bun" bun "$two/node_modules/.bin/spliced" --version
  expect_version "both runtimes: bunx spliced --version" bun bash -c 'cd "$1" && node_modules/.bin/bunx spliced --version' _ "$two"
  expect_version "both runtimes: deno task (spliced --version)" deno bash -c 'cd "$1" && node_modules/.bin/deno task -q v 2>/dev/null' _ "$two"
  expect_version "both runtimes: started by a deno task's shell (npm_config_user_agent deno/...)" deno \
    env npm_config_user_agent="deno/$DENO_VERSION npm/? deno/$DENO_VERSION linux x86_64" "$two/node_modules/.bin/spliced" --version
  expect_version "both runtimes: SPLICED_RUNTIME=deno" deno env SPLICED_RUNTIME=deno "$two/node_modules/.bin/spliced" --version
  expect_version "both runtimes: --runtime deno" deno "$two/node_modules/.bin/spliced" --version --runtime deno
else
  fail "both runtimes: npm install" "$(cat "$two/npm.log")"
fi

# --- with neither
np="$tmp/with-none"
if project "$np"; then
  out="$("$np/node_modules/.bin/spliced" --version 2>&1)"
  rc=$?
  want="spliced: needs Bun or Deno: npm install bun (or npm install deno), or see https://bun.sh or https://deno.com"
  if ((rc == 1)) && [[ "$out" == "$want" ]]; then ok "no runtime: spliced says how to get one (exit 1)"
  else fail "no runtime: exit $rc" "$out"; fi
  if [[ -x "$bp/node_modules/.bin/bun" ]]; then
    expect_version "no runtime in the project, bun on PATH: spliced --version" bun \
      env PATH="$bp/node_modules/.bin:$PATH" "$np/node_modules/.bin/spliced" --version
    # What a bunx from elsewhere passes: its user agent and its own path.
    expect_version "no runtime in the project or PATH, started by bunx: the bun beside npm_execpath" bun \
      env npm_config_user_agent="bun/$BUN_VERSION npm/? node/v24 linux x64" npm_execpath="$bp/node_modules/bun/bin/bunx.exe" \
      "$np/node_modules/.bin/spliced" --version
  fi
else
  fail "empty project: npm install" "$(cat "$np/npm.log")"
fi

finish
