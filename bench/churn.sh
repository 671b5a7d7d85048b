#!/usr/bin/env bash
# bench/churn.sh [BIN]: what `memsight agent` costs, and attaches, while
# short-lived Go processes come and go: `go build -a std` with GOCACHE in a
# new empty directory each run (so every package is really compiled: a few
# hundred compile, asm and link processes living from milliseconds to
# seconds), without and with the agent, for each --min-process-age in AGES.
#
# The build runs in a cgroup (v2) of its own; the agent is started before
# each with-run with its defaults but --include-cgroup matching that cgroup
# (so that it attaches only to the build's processes, not to other users'),
# --listen on a loopback port and --min-process-age AGE. Reported per AGE:
#   - build wall time ratio with/without: runs alternate (without, with
#     AGE1, without, with AGE2, ... for each of REPS repetitions), the ratio
#     is the median over the repetitions of with / the without run just
#     before it; and the same ratio of the build's CPU time (user+system of
#     the go command and all its children, where the uprobes' cost lands;
#     less sensitive to other load on the machine than the wall time);
#   - the agent's CPU during the build (utime+stime over the build's wall
#     time, % of one core), median;
#   - processes attached during the build ("watching process" lines of the
#     agent's log) and probe attaches ("probes attached": an executable's
#     probes are attached again when a process of it starts after the last
#     one exited and they were detached), median.
# The agent still inspects every exec of the machine (other users' builds
# too), as in production.
#
# Needs root, curl and a cgroup v2 hierarchy. Duration: REPS × 2 × (number
# of AGES) builds of ≈ 40 s on a quiet 2-CPU machine (minutes when busy):
# ≈ 35 min with the defaults (REPS=5, AGES="0 250ms 500ms 1s 2s"; 73 min at a
# load average of 7);
# AGES="0 1s" takes ≈ 15 min; REPS=1 AGES=0 one pair.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
REPS=${REPS:-5}
AGES=${AGES:-0 250ms 500ms 1s 2s}
API_PORT=${API_PORT:-19482}
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_init churn
bench_need curl /usr/bin/time
bench_build_memsight

cgmount=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$cgmount" ] || { echo "bench/churn.sh needs a cgroup v2 hierarchy (none mounted)" >&2; exit 1; }
cgname=msbench-churn-$$
cgdir=$cgmount/$cgname
mkdir "$cgdir"
remove_cgroup() {
	local i
	for ((i = 0; i < 100; i++)); do
		rmdir "$cgdir" 2>/dev/null && return
		[ -d "$cgdir" ] || return
		sleep 0.05
	done
	echo "cgroup $cgdir left behind" >&2
}
bench_cleanup_hook=remove_cgroup

agent_args=(--listen "127.0.0.1:$API_PORT" --include-cgroup "^/$cgname\$")
bench_header "bench/churn.sh: go build -a std without and with memsight agent"
echo "build:   GOCACHE=\$(new empty dir) GOTOOLCHAIN=local go build -a std ($(go version | cut -d' ' -f3)), in cgroup $cgdir"
echo "agent:   $MEMSIGHT agent ${agent_args[*]} --min-process-age AGE"
echo "runs:    REPS=$REPS, AGES=\"$AGES\", alternating without / with AGE"
bench_loadavg_start

# build: one build in the cgroup; sets build_s (wall time, s) and
# build_cpu (user+system time of the go command and every process it
# waited for, s).
build() {
	local cache
	cache=$(mktemp -d "$bench_tmp/gocache.XXXXXX")
	# shellcheck disable=SC2016 # $$ and $1 are the inner shell's
	GOCACHE=$cache GOTOOLCHAIN=local GOFLAGS='' /usr/bin/time -f '%e %U %S' -o "$bench_tmp/time" \
		bash -c 'echo $$ >"$1/cgroup.procs" && exec go build -a std' - "$cgdir"
	rm -rf "$cache"
	read -r build_s build_cpu < <(awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$bench_tmp/time")
}

# run AGE: one build, with an agent when AGE is not "none"; sets build_s,
# run_cpu, run_procs and run_exes.
run() {
	local age=$1 ag t0 t1
	run_cpu=- run_procs=- run_exes=-
	if [ "$age" = none ]; then
		build
		return
	fi
	bench_start_agent "$bench_tmp/agent.log" "${agent_args[@]}" --min-process-age "$age"
	ag=$bench_pid
	t0=$(bench_ticks "$ag")
	build
	t1=$(bench_ticks "$ag")
	kill -0 "$ag" 2>/dev/null || { echo "the agent exited during the build:" >&2; tail -5 "$bench_tmp/agent.log" >&2; exit 1; }
	bench_stop_memsight "$ag"
	run_cpu=$(bench_cpu_pct $((t1 - t0)) "$build_s")
	run_procs=$(grep -c 'msg="watching process"' "$bench_tmp/agent.log" || true)
	run_exes=$(grep -c 'msg="probes attached"' "$bench_tmp/agent.log" || true)
}

declare -A ratio cratio cpu procs exes walls bases
echo
printf "%-4s %-8s %10s %10s %8s %12s %12s %9s %10s %9s %14s\n" rep age "build w/o" "build with" ratio \
	"build cpu w/o" "build cpu with" "cpu ratio" "agent cpu%" attached "probe attaches"
for ((r = 1; r <= REPS; r++)); do
	for age in $AGES; do
		run none
		b=$build_s bc=$build_cpu
		run "$age"
		w=$build_s wc=$build_cpu
		bases[$age]+="$b " walls[$age]+="$w "
		ratio[$age]+="$(bench_ratio "$w" "$b") " cratio[$age]+="$(bench_ratio "$wc" "$bc") " cpu[$age]+="$run_cpu " procs[$age]+="$run_procs " exes[$age]+="$run_exes "
		printf "%-4s %-8s %9ss %9ss %8.4f %11ss %11ss %9.4f %10s %9s %14s\n" "$r" "$age" "$b" "$w" "$(bench_ratio "$w" "$b")" \
			"$bc" "$wc" "$(bench_ratio "$wc" "$bc")" "$run_cpu" "$run_procs" "$run_exes"
	done
done

echo
echo "Medians over $REPS pairs per --min-process-age (ratio = median of the per-pair with/without build time; 1.0000 = no cost):"
printf "%-8s %10s %10s %8s %17s %10s %17s %10s %9s %14s\n" age "build w/o" "build with" ratio "ratio min..max" \
	"cpu ratio" "cpu ratio min..max" "agent cpu%" attached "probe attaches"
# shellcheck disable=SC2086 # word lists
for age in $AGES; do
	printf "%-8s %9.2fs %9.2fs %8.4f %8.4f..%-8.4f %10.4f %8.4f..%-8.4f %10.2f %9s %14s\n" "$age" \
		"$(bench_median ${bases[$age]})" "$(bench_median ${walls[$age]})" \
		"$(bench_median ${ratio[$age]})" "$(bench_min ${ratio[$age]})" "$(bench_max ${ratio[$age]})" \
		"$(bench_median ${cratio[$age]})" "$(bench_min ${cratio[$age]})" "$(bench_max ${cratio[$age]})" \
		"$(bench_median ${cpu[$age]})" "$(bench_median ${procs[$age]})" "$(bench_median ${exes[$age]})"
done
echo "(cpu ratio: the build's user+system time, with/without; agent cpu%: the agent's utime+stime over the build's wall time)"
echo
bench_loadavg_report
