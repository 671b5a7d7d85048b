#!/usr/bin/env bash
# bench/profile.sh [BIN]: the agent's own CPU and heap profiles while it
# watches IDLE idle Go processes (testdata/targets/idle).
#
# Starts `memsight agent --pprof 127.0.0.1:PPROF_PORT` (defaults, but
# --include-comm '^msbench-' and --listen on a loopback port), waits until
# it watches every idle process and SETTLE more seconds, then takes a
# PROFILE_SECONDS s CPU profile (/debug/pprof/profile) and a heap profile
# (/debug/pprof/heap, in use after a GC) and prints the top 15 entries of
# each (`go tool pprof -top -nodecount=15`; heap: inuse_space, then
# alloc_space, the bytes allocated since the start). The profiles are kept
# in OUT (default $BENCH_CACHE/profiles/<time>, outside the repository) for
# comparing before and after with `go tool pprof -diff_base`.
#
# Needs root, curl and jq. Duration: ≈ 1.5 min with the defaults (IDLE=100
# SETTLE=10 PROFILE_SECONDS=30); PROFILE_SECONDS=10 SETTLE=5 takes ≈ 40 s.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
IDLE=${IDLE:-100}
SETTLE=${SETTLE:-10}
SECONDS_CPU=${PROFILE_SECONDS:-30}
API_PORT=${API_PORT:-19483}
PPROF_PORT=${PPROF_PORT:-19484}
cd "$(dirname "$0")/.."
source bench/lib.sh
OUT=${OUT:-$BENCH_CACHE/profiles/$(date -u +%Y%m%dT%H%M%SZ)}
bench_init profile
bench_need curl jq
bench_build_memsight
bench_build_idle "$bench_tmp"
mkdir -p "$OUT"

api=http://127.0.0.1:$API_PORT
agent_args=(--listen "127.0.0.1:$API_PORT" --include-comm '^msbench-' --pprof "127.0.0.1:$PPROF_PORT")
bench_header "bench/profile.sh: CPU and heap profiles of memsight agent watching $IDLE idle processes"
echo "agent:    $MEMSIGHT agent ${agent_args[*]}"
echo "targets:  $IDLE × testdata/targets/idle ($(go version "$bench_tmp/msbench-idle" | awk '{print $NF}'), default build)"
echo "profiles: ${SECONDS_CPU}s CPU and heap, ${SETTLE}s after every process is watched; kept in $OUT"
bench_loadavg_start

for ((i = 0; i < IDLE; i++)); do
	"$bench_tmp/msbench-idle" >/dev/null &
	bench_kill+=("$!")
done
bench_start_agent "$bench_tmp/agent.log" "${agent_args[@]}"
agent=$bench_pid
deadline=$((SECONDS + 120))
until [ "$(curl -s "$api/api/v1/processes" | jq '[.processes[] | select(.state == "watching")] | length')" -ge "$IDLE" ]; do
	[ "$SECONDS" -lt "$deadline" ] || { echo "not every idle process watched after 120 s" >&2; exit 1; }
	sleep 0.5
done
sleep "$SETTLE"

t0=$(bench_ticks "$agent")
curl -sf -o "$OUT/cpu.pb.gz" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$SECONDS_CPU"
t1=$(bench_ticks "$agent")
curl -sf -o "$OUT/heap.pb.gz" "http://127.0.0.1:$PPROF_PORT/debug/pprof/heap?gc=1"
cp "$MEMSIGHT" "$OUT/memsight"
echo
echo "agent over the CPU profile: $(bench_cpu_pct $((t1 - t0)) "$SECONDS_CPU") % of one core (utime+stime); RssAnon $(bench_status_mib "$agent" RssAnon) MiB, VmHWM $(bench_status_mib "$agent" VmHWM) MiB"
echo
echo "(a) CPU, top 15 (go tool pprof -top -nodecount=15 $OUT/cpu.pb.gz)"
go tool pprof -top -nodecount=15 "$OUT/cpu.pb.gz" 2>/dev/null
echo
echo "(b) heap in use, top 15 (go tool pprof -top -nodecount=15 -sample_index=inuse_space $OUT/heap.pb.gz)"
go tool pprof -top -nodecount=15 -sample_index=inuse_space "$OUT/heap.pb.gz" 2>/dev/null
echo
echo "(c) heap allocated since start, top 15 (-sample_index=alloc_space)"
go tool pprof -top -nodecount=15 -sample_index=alloc_space "$OUT/heap.pb.gz" 2>/dev/null
echo
bench_loadavg_report
