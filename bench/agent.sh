#!/usr/bin/env bash
# bench/agent.sh [BIN]: the cost and the reaction times of `memsight agent`.
#
#   (a) the agent's CPU (utime+stime from /proc/PID/stat over WINDOW, as % of
#       one core) and memory (RssAnon and VmRSS at the end of the window,
#       VmHWM so far) while it watches 0, 10, 50 and 100 idle Go processes
#       of mixed executables: CADDIES copies of caddy $CADDY_VERSION (built
#       once from the Go module proxy into $BENCH_CACHE; distinct inodes,
#       so distinct executables) each holding CONNS idle keep-alive
#       connections (one goroutine each, from bench/holdconns), then
#       testdata/targets/idle, one in five of them a stripped PIE build
#       (-s -w, -buildmode=pie);
#   (b) attach latency after exec: from just before a target is started to
#       the first answer of /api/v1/processes/{pid} saying it is watched
#       (200, or 404 "no sample yet"), median and p90 over STARTS starts, for
#       an executable no other watched process runs (inspected afresh; with
#       opt-in probes, its probes are attached each time) and one already
#       watched (the idle processes' own); this includes --min-process-age
#       (500ms by default), counted from the exec;
#   (c) detection latency: from a finstuck target's "BLOCKED" line (its
#       finalizer is about to block for ever) to the finalizer_stall finding
#       in /api/v1/findings, with the default --stall-threshold (2s), over
#       STALLS runs; reported beyond the threshold (the goal: at most one
#       --interval, 1 s).
#
# The agent only attaches to the targets started here (--include-comm
# '^msbench-'), but it sees and inspects every process of the machine, as in
# production. Needs root, curl and jq. Prints a report; the results are
# recorded by hand in docs/benchmarks.md. Every process started here is
# killed on exit. Duration: 4 × (WINDOW + SETTLE) plus the attaches, the
# STARTS and STALLS series: ≈ 5 min with the defaults (WINDOW=60 SETTLE=5
# STARTS=20 STALLS=5); WINDOW=15 STARTS=5 STALLS=3 takes ≈ 2 min.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
WINDOW=${WINDOW:-60}  # seconds per CPU window
SETTLE=${SETTLE:-5}   # seconds between "every process watched" and the window
STARTS=${STARTS:-20}  # starts per attach-latency series
STALLS=${STALLS:-5}   # runs of the detection-latency series
CADDIES=${CADDIES:-4} # caddy copies among the watched processes
CONNS=${CONNS:-300}   # idle keep-alive connections held to each caddy
PORT=${PORT:-19464}
CADDY_PORT=${CADDY_PORT:-18400} # caddy copy i serves on CADDY_PORT+i
AGENT_FLAGS=${AGENT_FLAGS:-}    # more agent flags, e.g. "--min-process-age 500ms" (the latencies count from exec)
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_init agent
bench_need curl jq
tmp=$bench_tmp
bench_build_memsight
caddy=$(bench_caddy)
# Targets run under names of their own (comm msbench-*), one executable
# (inode) per role so that each role has its own probe attachment.
bench_build_idle "$tmp"
go build -C testdata/targets/finstuck -o "$tmp/msbench-stuck" .
cp "$tmp/msbench-idle" "$tmp/msbench-new"
for ((i = 1; i <= CADDIES; i++)); do cp "$caddy" "$tmp/msbench-caddy$i"; done
go build -o "$tmp/holdconns" ./bench/holdconns

bench_header "bench/agent.sh: cost and reaction times of memsight agent"
echo "agent:   $MEMSIGHT agent --listen 127.0.0.1:$PORT --include-comm '^msbench-' $AGENT_FLAGS (every other flag at its default)"
echo "targets: $(bench_describe_exe "$caddy") × $CADDIES copies, $CONNS idle keep-alive connections each;"
echo "         testdata/targets/idle ($(go version "$tmp/msbench-idle" | awk '{print $NF}')), default and -s -w PIE builds; testdata/targets/finstuck"
bench_loadavg_start

api=http://127.0.0.1:$PORT
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); } # wall clock, ms, no fork

# shellcheck disable=SC2086 # AGENT_FLAGS is a list of flags
bench_start_agent "$tmp/agent.log" --listen "127.0.0.1:$PORT" --include-comm '^msbench-' $AGENT_FLAGS
agent=$bench_pid
grep -m1 'finding new processes' "$tmp/agent.log" | sed 's/^/agent: /'

watching() { curl -s "$api/api/v1/processes" | jq '[.processes[] | select(.state == "watching")] | length'; }
binaries() { curl -s "$api/metrics" | awk '$1 == "memsight_agent_attached_binaries" {print $2}'; }

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

# start_target I: the I-th watched process (0-based): a caddy copy for the
# first CADDIES, else the idle target, every fifth a stripped PIE build.
start_target() {
	local i=$1
	if [ "$i" -lt "$CADDIES" ]; then
		bench_start_caddy "$tmp/msbench-caddy$((i + 1))" $((CADDY_PORT + i + 1))
		caddy_addrs+=("127.0.0.1:$((CADDY_PORT + i + 1))")
		caddy_pids+=("$bench_pid")
		return
	fi
	if [ $((i % 5)) = 0 ]; then
		"$tmp/msbench-idlesp" >/dev/null &
	else
		"$tmp/msbench-idle" >/dev/null &
	fi
	bench_kill+=("$!")
}

# goroutines PID: the process's goroutines as the agent reports them.
goroutines() { curl -s "$api/metrics" | awk -v p="pid=\"$1\"" '$1 ~ /^memsight_goroutines\{/ && index($1, p) {print $2}'; }

echo
echo "(a) agent CPU and memory, ${WINDOW}s windows (CLK_TCK $(getconf CLK_TCK)), ${SETTLE}s after every process is watched"
printf "%-10s %-22s %10s %8s %10s %10s %10s\n" processes "(caddy/idle/idle PIE)" executables "cpu %" "RssAnon" "VmRSS" "VmHWM"
running=0
caddy_addrs=() caddy_pids=()
holder=
for n in 0 10 50 100; do
	while [ "$running" -lt "$n" ]; do
		start_target "$running"
		running=$((running + 1))
	done
	if [ -z "$holder" ] && [ "${#caddy_addrs[@]}" -gt 0 ]; then
		"$tmp/holdconns" -n "$CONNS" "${caddy_addrs[@]}" >"$tmp/holdconns.out" 2>"$tmp/holdconns.log" &
		holder=$!
		bench_kill+=("$holder")
		until grep -q READY "$tmp/holdconns.out"; do
			kill -0 "$holder" 2>/dev/null || { cat "$tmp/holdconns.log" >&2; exit 1; }
			sleep 0.1
		done
	fi
	deadline=$((SECONDS + 120))
	until [ "$(watching)" -ge "$n" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "only $(watching) of $n processes watched after 120s" >&2; exit 1; }
		sleep 0.5
	done
	sleep "$SETTLE" # let the attach work settle
	t0=$(bench_ticks "$agent")
	sleep "$WINDOW"
	t1=$(bench_ticks "$agent")
	nc=$((n < CADDIES ? n : CADDIES))
	nsp=0
	for ((i = CADDIES; i < n; i++)); do [ $((i % 5)) = 0 ] && nsp=$((nsp + 1)); done
	printf "%-10s %-22s %10s %8s %10s %10s %10s\n" "$n" "($nc/$((n - nc - nsp))/$nsp)" "$(binaries)" \
		"$(bench_cpu_pct $((t1 - t0)) "$WINDOW")" "$(bench_status_mib "$agent" RssAnon) MiB" \
		"$(bench_status_mib "$agent" VmRSS) MiB" "$(bench_status_mib "$agent" VmHWM) MiB"
done
if [ "${#caddy_pids[@]}" -gt 0 ]; then
	g=()
	for p in "${caddy_pids[@]}"; do g+=("$(goroutines "$p")"); done
	echo "goroutines of the caddy copies (memsight_goroutines): ${g[*]}"
fi

# latency_series EXE COLD: STARTS starts of EXE; COLD=1 waits for the
# probes of EXE to be detached before each start.
latency_series() {
	local exe=$1 cold=$2 base i t0 pid ms lat=()
	base=$(binaries)
	for ((i = 0; i < STARTS; i++)); do
		t0=$(now_ms)
		"$exe" >/dev/null &
		pid=$!
		bench_kill+=("$pid")
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
echo "(b) attach latency after exec, --min-process-age included (and ~5-10 ms of curl polling granularity)"
printf "executable not watched yet:                  "
latency_series "$tmp/msbench-new" 1
printf "executable already watched (idle's):        "
latency_series "$tmp/msbench-idle" 0

echo
echo "(c) detection latency of finalizer_stall (default --stall-threshold 2s, --interval 1s)"
beyond=()
for ((i = 0; i < STALLS; i++)); do
	out=$tmp/stuck.$i
	# The finalizer blocks after 600 ran: in the 7th round, ~2 s after start,
	# well after the attach. Each line is stamped with the wall clock in ms.
	"$tmp/msbench-stuck" -after 600 > >(while IFS= read -r l; do t=${EPOCHREALTIME/./}; echo "$((t / 1000)) $l"; done >"$out") &
	pid=$!
	bench_kill+=("$pid")
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
	beyond+=("$((ms - 2000))")
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
done

echo "beyond the threshold: median $(bench_median "${beyond[@]}") ms, max $(bench_max "${beyond[@]}") ms over $STALLS runs"
echo
echo "agent: $(grep -c 'watching process' "$tmp/agent.log") attaches, $(grep -c 'level=WARN' "$tmp/agent.log") warnings in its log"
bench_loadavg_report
