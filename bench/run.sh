#!/usr/bin/env bash
# Entry point of `npm run bench`: makes sure the peers and tools are installed,
# raises the fd limit, then runs the benchmarks: TCP (bench/tcp.mjs), HTTP and static
# files (bench/http.mjs), and the admin plane's cost (bench/admin_cost.mjs).
#   bash bench/run.sh [tcp|http|admin|profile|all] [options of that benchmark]   (default: all)
#   bash bench/run.sh profile [--spliced-root DIR]   (bench/profile_http.mjs: data-plane profile; needs perf)
#   bash bench/run.sh tcp [--rounds N] [--time S] [--only a,b] [--skip-idle] [--skip-strace] [--quick]
# Results: a markdown table on stdout and in bench/out/ (gitignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

missing=()
for cmd in haproxy nginx socat iperf3 strace pgrep wrk; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || missing+=("ngx_stream_module")
if ((${#missing[@]})); then
  echo "bench: installing missing tools (${missing[*]})" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench: need root to apt-get install; install: haproxy nginx libnginx-mod-stream socat iperf3 strace procps" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq haproxy nginx libnginx-mod-stream socat iperf3 strace procps wrk chromium >/dev/null
fi

for rt in deno bun; do
  [[ -x "$root/node_modules/.bin/$rt" ]] || { echo "bench: $rt missing: run npm install in $root" >&2; exit 1; }
done

# 5,000 idle connections need ~10,000 fds in the proxy and as many in the bench process.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

which="${1:-all}"
case "$which" in tcp|http|admin|profile|all) [[ $# -gt 0 ]] && shift ;; *) which=tcp ;; esac
if [[ "$which" == profile ]] && ! command -v perf >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null || echo "bench: linux-perf not installed; profiling without perf" >&2
fi
case "$which" in
  tcp) exec node "$here/tcp.mjs" "$@" ;;
  http) exec node "$here/http.mjs" "$@" ;;
  admin) exec node "$here/admin_cost.mjs" "$@" ;;
  profile) exec node "$here/profile_http.mjs" "$@" ;;
  all)
    node "$here/tcp.mjs" "$@"
    node "$here/http.mjs" "$@"
    node "$here/admin_cost.mjs" ;;
esac
