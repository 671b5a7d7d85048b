#!/usr/bin/env bash
# bench/leakscan.sh [BIN]: the cost of the goroutine-leak verdict
# (`memsight goroutines PID --leaks`: two read-only marks of the heap).
#
#   (a) one scan of bench/leakheap with a live heap of 64, 256 and 1024 MiB
#       (small pointerful nodes and maps, 1000 idle goroutines, 100 leaked):
#       wall time, bytes read, objects marked, memsight's peak RSS
#       (/usr/bin/time), unlimited read rate and the default 256 MiB/s;
#   (b) goroutine-heavy: testdata/targets/goleak after leaking 100,000
#       goroutines;
#   (c) the target's side: bench/workload's allocation throughput with
#       scans running back to back, over without (the ratio, 1.00 = none);
#   (d) Caddy (MEMSIGHT_CADDY, default /tmp/tp/bin/caddy) serving wrk with
#       CONNS keep-alive connections: the scan while it serves, and wrk's
#       requests/s with and without scans running back to back.
#
# Needs root (process_vm_readv on other users' processes), jq, wrk for (d).
# Prints a report; results are recorded by hand in docs/benchmarks.md.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
CONNS=${CONNS:-300}
DUR=${DUR:-5s}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/leakheap" ./bench/leakheap
go build -o "$tmp/workload" ./bench/workload
(cd testdata/targets/goleak && go build -o "$tmp/goleak" .)

# scan PID [memsight flags]: one scan, as a report line.
scan() {
	local pid=$1
	shift
	/usr/bin/time -f '%M %e' -o "$tmp/time" "$MEMSIGHT" goroutines "$pid" --leaks -o json "$@" >"$tmp/rep.json"
	read -r rss wall <"$tmp/time"
	jq -r --arg rss "$rss" --arg wall "$wall" '"goroutines \(.goroutines) blocked \(.blocked) leaked \([.leaks[].count]|add // 0) | marks \(.mark.marks) scan \(.mark.seconds*1000|floor) ms (wall \($wall) s) | read \(.mark.bytes_read/1048576|floor) MiB in \(.mark.reads) reads | marked \(.mark.objects_marked) objects, \(.mark.bytes_marked/1048576|floor) MiB | memsight peak RSS \(($rss|tonumber)/1024|floor) MiB | conservative \(.mark.conservative|length)"' "$tmp/rep.json"
}

# until_line FILE PREFIX: wait for a line.
until_line() { until grep -q "^$2" "$1" 2>/dev/null; do sleep 0.1; done; }

echo "== (a) live heap size (bench/leakheap: 1000 idle, 100 leaked goroutines)"
for mib in 64 256 1024; do
	"$tmp/leakheap" -heap "$mib" >"$tmp/lh.out" &
	pids+=($!)
	until_line "$tmp/lh.out" READY
	printf '%5d MiB, unlimited:  ' "$mib"; scan $! --read-rate -1
	printf '%5d MiB, 256 MiB/s:  ' "$mib"; scan $!
	kill $! && wait $! 2>/dev/null || true
done

echo "== (b) 100,000 leaked goroutines (testdata/targets/goleak)"
"$tmp/goleak" -rate 200000 -max 100000 >"$tmp/gl.out" &
pids+=($!)
until_line "$tmp/gl.out" STEADY
printf 'goleak: '; scan $! --read-rate -1
kill $! && wait $! 2>/dev/null || true

echo "== (c) target throughput while scanned back to back (bench/workload -mode alloc, $DUR)"
run_workload() { # scans(0|1) -> ops/s
	local fifo out pid
	fifo=$(mktemp -u); mkfifo "$fifo"; out=$(mktemp)
	"$tmp/workload" -mode alloc -duration "$DUR" -wait <"$fifo" >"$out" &
	pid=$!
	exec 3>"$fifo"
	until grep -q READY "$out"; do sleep 0.05; done
	if [ "$1" = 1 ]; then
		( while kill -0 "$pid" 2>/dev/null; do "$MEMSIGHT" goroutines "$pid" --leaks -o json >/dev/null 2>&1 || true; done ) &
	fi
	echo go >&3; exec 3>&-
	wait "$pid"
	awk '/ops_per_sec/ {print $2}' "$out"
	rm -f "$fifo" "$out"
}
base=$(run_workload 0); with=$(run_workload 1)
printf 'alloc ops/s without %s, with scans %s, ratio %.3f\n' "$base" "$with" "$(awk -v a="$with" -v b="$base" 'BEGIN{print a/b}')"

caddy=${MEMSIGHT_CADDY:-/tmp/tp/bin/caddy}
if [ -x "$caddy" ] && command -v wrk >/dev/null; then
	echo "== (d) Caddy under wrk -c $CONNS"
	printf '{\n\tadmin off\n\tauto_https off\n}\nhttp://127.0.0.1:18080 {\n\trespond "hello" 200\n}\n' >"$tmp/Caddyfile"
	HOME=$tmp XDG_DATA_HOME=$tmp XDG_CONFIG_HOME=$tmp "$caddy" run --config "$tmp/Caddyfile" --adapter caddyfile >/dev/null 2>&1 &
	cpid=$!
	pids+=($cpid)
	until curl -s -o /dev/null http://127.0.0.1:18080/; do sleep 0.1; done
	wrk -t2 -c"$CONNS" -d10s http://127.0.0.1:18080/ >"$tmp/wrk0" 2>&1
	wrk -t2 -c"$CONNS" -d10s http://127.0.0.1:18080/ >"$tmp/wrk1" 2>&1 &
	w=$!
	sleep 2
	printf 'caddy under load: '; scan "$cpid"
	( while kill -0 "$w" 2>/dev/null; do "$MEMSIGHT" goroutines "$cpid" --leaks -o json >/dev/null 2>&1 || true; done ) &
	wait "$w"
	printf 'wrk requests/s without %s, with scans %s\n' "$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk0")" "$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk1")"
else
	echo "== (d) skipped: no Caddy at $caddy or no wrk"
fi
