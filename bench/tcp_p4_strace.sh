#!/usr/bin/env bash
# By-hand check behind bench/RESULTS.md "Data plane v2": spliced deno w1 under iperf3 -P 4, strace -c -f
# for 4 s of a 6 s run, this checkout (main) against the baseline worktree. Usage: bash bench/tcp_p4_strace.sh
# (expects /work/main and /work/baseline; ports 35201-35203 free). strace slows both down: compare shapes.
iperf3 -s -p 35201 -D --pidfile /tmp/ip3.pid; sleep 0.5
for r in main baseline; do
  /work/$r/bin/spliced --runtime deno tcp --listen 127.0.0.1:35202 --to 127.0.0.1:35201 --admin 127.0.0.1:35203 --grace-period 1s --pipe-size 1m --workers 1 > /tmp/sp-$r.log 2>&1 &
  sp=$!; sleep 2.5
  iperf3 -c 127.0.0.1 -p 35202 -n 256M -P 1 > /dev/null
  (iperf3 -c 127.0.0.1 -p 35202 -t 6 -P 4 -J > /tmp/ip-$r.json &) ; sleep 1
  timeout 4 strace -c -f -p $sp -o /tmp/st-$r.txt 2>/dev/null
  sleep 2.5
  echo "== $r"; head -12 /tmp/st-$r.txt
  python3 -c "import json;d=json.load(open('/tmp/ip-$r.json'));print('GB/s',d['end']['sum_received']['bytes']/d['end']['sum_received']['seconds']/1e9)"
  kill $sp; wait $sp 2>/dev/null
done
kill $(cat /tmp/ip3.pid)
