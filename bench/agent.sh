#!/usr/bin/env bash
# bench/agent.sh [BIN]: the cost and the reaction times of `memsight agent`.
#
#   (a) the agent's CPU (utime+stime from /proc/PID/stat over WINDOW, as % of
#       one core) and memory (VmRSS at the end of the window, VmHWM so far)
#       while it watches 0, 10, 50 and 100 idle Go processes;
#   (b) attach latency after exec: from just before a target is started to
#       the first answer of /api/v1/processes/{pid} saying it is watched
#       (200, or 404 "no sample yet"), median and p90 over STARTS starts, for
#       an executable not attached yet (its probes are attached each time)
#       and one already attached (the idle processes' own);
#   (c) detection latency: from a finstuck target's "BLOCKED" line (its
#       finalizer is about to block for ever) to the finalizer_stall finding
#       in /api/v1/findings, with the default --stall-threshold (2s), over
#       STALLS runs.
#
# The agent only attaches to the targets started here (--include-comm
# '^msbench-'), but it sees and inspects every process of the machine, as in
# production. Needs root, curl and jq. Prints a report; the results are
# recorded by hand in docs/benchmarks.md. Every process started here is
# killed on exit.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
WINDOW=${WINDOW:-60}  # seconds per CPU window
STARTS=${STARTS:-20}  # starts per attach-latency series
STALLS=${STALLS:-5}   # runs of the detection-latency series
PORT=${PORT:-19464}
cd "$(dirname "$0")/.."
for tool in curl jq; do
	command -v "$tool" >/dev/null || { echo "bench/agent.sh needs $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
agent=
pids=() # every target started here
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	if [ -n "$agent" ]; then
		kill -TERM "$agent" 2>/dev/null || true # detaches its probes and exits
	fi
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make -s build BIN="$MEMSIGHT"
# Targets run under names of their own (comm msbench-*), one executable
# (inode) per role so that each role has its own probe attachment.
go build -C testdata/targets/idle -o "$tmp/msbench-idle" .
go build -C testdata/targets/finstuck -o "$tmp/msbench-stuck" .
cp "$tmp/msbench-idle" "$tmp/msbench-new"

api=http://127.0.0.1:$PORT
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); } # wall clock, ms, no fork

"$MEMSIGHT" agent --listen "127.0.0.1:$PORT" --include-comm '^msbench-' 2>"$tmp/agent.log" &
agent=$!
until curl -sf "$api/readyz" >/dev/null; do
	kill -0 "$agent" 2>/dev/null || { cat "$tmp/agent.log" >&2; exit 1; }
	sleep 0.1
done
grep -m1 'finding new processes' "$tmp/agent.log" | sed 's/^/agent: /'

watching() { curl -s "$api/api/v1/processes" | jq '[.processes[] | select(.state == "watching")] | length'; }
binaries() { curl -s "$api/metrics" | awk '$1 == "memsight_agent_attached_binaries" {print $2}'; }
ticks() { local s; s=$(<"/proc/$agent/stat"); s=${s##*) }; set -- $s; echo $((${12} + ${13})); } # utime+stime
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$agent/status"; }

# is_watched PID: /api/v1/processes/PID says the process is watched.
is_watched() {
	local body code
	body=$(curl -s -w '\n%{http_code}' "$api/api/v1/processes/$1")
	code=${body##*$'\n'}
	[ "$code" = 200 ] || [[ $body == *"no sample yet"* ]]
}

# percentile P SORTED_VALUES...: nearest-rank percentile.
percentile() {
	local p=$1
	shift
	local n=$# i
	i=$(((p * n + 99) / 100))
	[ "$i" -lt 1 ] && i=1
	echo "${!i}"
}

echo
echo "(a) agent CPU and memory, ${WINDOW}s windows (CLK_TCK $(getconf CLK_TCK))"
printf "%-10s %10s %12s %12s\n" processes "cpu %" "VmRSS MiB" "VmHWM MiB"
hz=$(getconf CLK_TCK)
running=0
for n in 0 10 50 100; do
	while [ "$running" -lt "$n" ]; do
		"$tmp/msbench-idle" >/dev/null &
		pids+=("$!")
		running=$((running + 1))
	done
	deadline=$((SECONDS + 60))
	until [ "$(watching)" -ge "$n" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "only $(watching) of $n processes watched after 60s" >&2; exit 1; }
		sleep 0.5
	done
	sleep 2 # let the attach work settle
	t0=$(ticks)
	sleep "$WINDOW"
	t1=$(ticks)
	printf "%-10s %10.2f %12.1f %12.1f\n" "$n" \
		"$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$WINDOW" 'BEGIN {print 100 * d / hz / w}')" \
		"$(awk -v k="$(status_kb VmRSS)" 'BEGIN {print k / 1024}')" \
		"$(awk -v k="$(status_kb VmHWM)" 'BEGIN {print k / 1024}')"
done

# latency_series EXE COLD: STARTS starts of EXE; COLD=1 waits for the
# probes of EXE to be detached before each start.
latency_series() {
	local exe=$1 cold=$2 base i t0 pid ms lat=()
	base=$(binaries)
	for ((i = 0; i < STARTS; i++)); do
		t0=$(now_ms)
		"$exe" >/dev/null &
		pid=$!
		pids+=("$pid")
		until is_watched "$pid"; do
			[ $(($(now_ms) - t0)) -lt 10000 ] || { echo "pid $pid not watched after 10s" >&2; exit 1; }
			sleep 0.005
		done
		ms=$(($(now_ms) - t0))
		lat+=("$ms")
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null || true
		if [ "$cold" = 1 ]; then
			until [ "$(binaries)" = "$base" ]; do sleep 0.05; done
		else
			sleep 0.2
		fi
	done
	mapfile -t lat < <(printf '%s\n' "${lat[@]}" | sort -n)
	printf "median %4d ms   p90 %4d ms   min %4d ms   max %4d ms   (%d starts)\n" \
		"$(percentile 50 "${lat[@]}")" "$(percentile 90 "${lat[@]}")" "${lat[0]}" "${lat[-1]}" "${#lat[@]}"
}

echo
echo "(b) attach latency after exec (includes ~5-10 ms of curl polling granularity)"
printf "new executable (probes attached each time): "
latency_series "$tmp/msbench-new" 1
printf "executable already attached (idle's):        "
latency_series "$tmp/msbench-idle" 0

echo
echo "(c) detection latency of finalizer_stall (default --stall-threshold 2s, --interval 1s)"
for ((i = 0; i < STALLS; i++)); do
	out=$tmp/stuck.$i
	# The finalizer blocks after 600 ran: in the 7th round, ~2 s after start,
	# well after the attach. Each line is stamped with the wall clock in ms.
	"$tmp/msbench-stuck" -after 600 > >(while IFS= read -r l; do t=${EPOCHREALTIME/./}; echo "$((t / 1000)) $l"; done >"$out") &
	pid=$!
	pids+=("$pid")
	until grep -q ' BLOCKED$' "$out" 2>/dev/null; do sleep 0.01; done
	blocked=$(awk '$2 == "BLOCKED" {print $1; exit}' "$out")
	is_watched "$pid" || echo "warning: pid $pid was not watched when its finalizer blocked" >&2
	until curl -s "$api/api/v1/findings" | jq -e --argjson p "$pid" \
		'any(.findings[]; .pid == $p and .kind == "finalizer_stall")' >/dev/null; do
		[ $(($(now_ms) - blocked)) -lt 20000 ] || { echo "no finalizer_stall for pid $pid after 20s" >&2; exit 1; }
		sleep 0.01
	done
	ms=$(($(now_ms) - blocked))
	printf "run %d: finding %5d ms after BLOCKED (threshold + %4d ms)\n" "$((i + 1))" "$ms" "$((ms - 2000))"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
done

echo
echo "agent: $(grep -c 'watching process' "$tmp/agent.log") attaches, $(grep -c 'level=WARN' "$tmp/agent.log") warnings in its log"
