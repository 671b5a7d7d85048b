#!/usr/bin/env bash
# bench/memory.sh [BIN]: memory of memsight against large executables.
#
#   (a) `memsight agent` (defaults, but --include-comm '^msbench-' and
#       --listen on a loopback port) watching COPIES distinct copies of
#       caddy $CADDY_VERSION (cp to COPIES files: COPIES inodes, so COPIES
#       executables to inspect and attach; each serves on its own port,
#       idle) plus IDLE idle Go processes (testdata/targets/idle). One agent
#       with 1 copy, then a new agent with COPIES copies; each is read
#       SETTLE seconds after it watches every process (all watched: that
#       many seconds after its start): RssAnon, RssFile,
#       RssShmem, VmRSS and VmHWM from /proc/PID/status. Per executable:
#       (RssAnon with COPIES copies − with 1) / (COPIES − 1).
#   (b) `memsight ps` peak RSS and wall time (/usr/bin/time -v), with 1 and
#       with COPIES copies running (ps inspects every Go process of the
#       machine, the idle ones and other users' too: the count is printed).
#   (c) `memsight attach PID -o json --duration ATTACH_DUR` on one caddy:
#       peak RSS and wall time.
#
# caddy is built once from the Go module proxy into $BENCH_CACHE. No agent
# runs during (b) and (c). Needs root, curl, jq and /usr/bin/time.
# Duration: ≈ 1.5 min with the defaults (COPIES=8 IDLE=100 SETTLE=30
# ATTACH_DUR=5s); SETTLE=10 takes ≈ 1 min.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
COPIES=${COPIES:-8}
IDLE=${IDLE:-100}
SETTLE=${SETTLE:-30}
ATTACH_DUR=${ATTACH_DUR:-5s}
PORT=${PORT:-18300}  # caddy copy i serves on PORT+i
API_PORT=${API_PORT:-19481}
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_init memory
bench_need curl jq /usr/bin/time
bench_build_memsight
caddy=$(bench_caddy)
bench_build_idle "$bench_tmp"
[ "$COPIES" -ge 2 ] || { echo "COPIES must be at least 2" >&2; exit 1; }
for ((i = 1; i <= COPIES; i++)); do cp "$caddy" "$bench_tmp/msbench-caddy$i"; done

api=http://127.0.0.1:$API_PORT
agent_args=(--listen "127.0.0.1:$API_PORT" --include-comm '^msbench-')
bench_header "bench/memory.sh: memory of memsight agent, ps and attach with large executables"
echo "targets: $(bench_describe_exe "$caddy"), $COPIES copies (distinct inodes), idle, one port each;"
echo "         $IDLE × testdata/targets/idle ($(go version "$bench_tmp/msbench-idle" | awk '{print $NF}'), default build)"
echo "agent:   $MEMSIGHT agent ${agent_args[*]}   (GOMEMLIMIT=${GOMEMLIMIT:-unset}); read ${SETTLE}s after it watches every target"
echo "attach:  $MEMSIGHT attach PID -o json --duration $ATTACH_DUR on caddy copy 1"
bench_loadavg_start

caddies=()
start_caddies() { # start_caddies N: copies up to N running
	local i
	for ((i = ${#caddies[@]} + 1; i <= $1; i++)); do
		bench_start_caddy "$bench_tmp/msbench-caddy$i" $((PORT + i))
		caddies+=("$bench_pid")
	done
}
watching() { curl -s "$api/api/v1/processes" | jq '[.processes[] | select(.state == "watching")] | length'; }
metric() { curl -s "$api/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# agent_memory N: a new agent watching N caddies and the idle processes;
# prints its memory row and sets anon_kb.
agent_memory() {
	local n=$1 want=$(($1 + IDLE)) deadline ag t0 secs
	t0=$(bench_now_ms)
	bench_start_agent "$bench_tmp/agent-$n.log" "${agent_args[@]}"
	ag=$bench_pid
	deadline=$((SECONDS + 180))
	until [ "$(watching)" -ge "$want" ]; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "only $(watching) of $want processes watched after 180 s" >&2; exit 1; }
		sleep 0.5
	done
	secs=$(awk -v d=$(($(bench_now_ms) - t0)) 'BEGIN {printf "%.1f", d / 1000}')
	sleep "$SETTLE"
	anon_kb=$(awk '$1 == "RssAnon:" {print $2}' "/proc/$ag/status")
	printf "%-8s %9s %9s %9s %9s %9s %9s %10s %11s\n" "$n" "$want" "$(metric memsight_agent_attached_binaries)" \
		"$(bench_status_mib "$ag" RssAnon)" "$(bench_status_mib "$ag" RssFile)" "$(bench_status_mib "$ag" RssShmem)" \
		"$(bench_status_mib "$ag" VmRSS)" "$(bench_status_mib "$ag" VmHWM)" "${secs}s"
	bench_stop_memsight "$ag"
}

# peak CMD...: runs CMD under /usr/bin/time -v; prints "peak MiB, wall s".
peak() {
	/usr/bin/time -v "$@" >"$bench_tmp/peak.out" 2>"$bench_tmp/peak.err" || { cat "$bench_tmp/peak.err" >&2; exit 1; }
	awk -F': ' '/Maximum resident set size/ {kb = $2} /Elapsed \(wall clock\)/ {w = $2}
		END {n = split(w, p, ":"); s = p[n] + (n > 1 ? 60 * p[n - 1] : 0) + (n > 2 ? 3600 * p[n - 2] : 0); printf "peak RSS %7.1f MiB, wall %6.2f s", kb / 1024, s}' "$bench_tmp/peak.err"
}

for ((i = 0; i < IDLE; i++)); do
	"$bench_tmp/msbench-idle" >/dev/null &
	bench_kill+=("$!")
done
start_caddies 1

echo
echo "(a) agent memory, MiB (/proc/PID/status), ${SETTLE}s after watching every target"
printf "%-8s %9s %9s %9s %9s %9s %9s %10s %11s\n" caddies watched binaries RssAnon RssFile RssShmem VmRSS VmHWM "all watched"
agent_memory 1
anon1=$anon_kb
ps1="$(peak "$MEMSIGHT" ps -o json), $(jq length "$bench_tmp/peak.out") Go processes listed (1 caddy running)"
start_caddies "$COPIES"
agent_memory "$COPIES"
anonN=$anon_kb
echo "    per executable: (RssAnon with $COPIES − with 1) / $((COPIES - 1)) = $(awk -v a="$anonN" -v b="$anon1" -v n=$((COPIES - 1)) 'BEGIN {printf "%.1f", (a - b) / n / 1024}') MiB"
echo
echo "(b) memsight ps -o json, $ps1"
echo "    memsight ps -o json, $(peak "$MEMSIGHT" ps -o json), $(jq length "$bench_tmp/peak.out") Go processes listed ($COPIES caddies running)"
echo "(c) memsight attach -o json --duration $ATTACH_DUR on caddy copy 1 (pid ${caddies[0]}), $(peak "$MEMSIGHT" attach "${caddies[0]}" -o json --duration "$ATTACH_DUR"), $(wc -l <"$bench_tmp/peak.out") samples"
echo
bench_loadavg_report
