#!/usr/bin/env bash
# Type checks (`npm run check`):
#   - tsc (TypeScript 7) with bun-types for the Bun-only files, `**/bun.ts` and
#     `**/*.bun.ts` (today: ffi/bun.ts), as listed by tsconfig.json;
#   - `deno check` for every other .ts file of the repo (deno.json's compiler
#     options), tests included. `deno check` cannot see `bun:ffi`'s types.
# Both run even when the first fails; the exit code is non-zero if either failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=node_modules/.bin
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 RUST_BACKTRACE=0
for tool in tsc deno; do
  if [[ ! -x $BIN/$tool ]]; then
    echo "check.sh: $BIN/$tool not found; run \`npm ci\` (or \`npm install\`) first" >&2
    exit 1
  fi
done

status=0

echo "== tsc --noEmit -p tsconfig.json (Bun backend, bun-types)"
if "$BIN/tsc" --noEmit -p tsconfig.json; then
  echo "tsc: ok"
else
  echo "tsc: FAILED"
  status=1
fi

echo "== deno check (everything else)"
mapfile -t files < <(
  find . \( -path ./node_modules -o -path ./.git -o -path ./bench/out -o -path ./tmp \) -prune -o \
    -type f \( -name '*.ts' -o -name '*.mts' \) ! -name '*.d.ts' ! -name 'bun.ts' ! -name '*.bun.ts' -print |
    sed 's|^\./||' | LC_ALL=C sort
)
if ((${#files[@]} == 0)); then
  echo "deno check: no files"
elif "$BIN/deno" check --quiet "${files[@]}"; then
  echo "deno check: ok (${#files[@]} files)"
else
  echo "deno check: FAILED"
  status=1
fi

echo "== node --check scripts/*.mjs"
for f in scripts/*.mjs; do
  node --check "$f" || { echo "node --check $f: FAILED"; status=1; }
done

exit "$status"
