#!/usr/bin/env bash
# bench/run.sh [BIN]: throughput of the workload target (bench/workload)
# without and with `memsight attach PID -o json`:
#
#   fin            finalizer-heavy (every op registers a finalizer), default probes
#   alloc          allocation- and GC-heavy (64 B + every 16th 4 KiB), default probes
#   alloc+probes   alloc with --alloc-probes (slow paths; overhead governor at its default 1 % budget)
#   fin+trace      fin with --trace-finalizers (per-finalizer tracing, opt-in);
#                  only when `memsight attach --help` lists that flag
#
# Each run starts a fresh workload process, which waits until memsight has
# printed its first sample (attached) and then runs for DUR. Runs alternate:
# for each of REPS repetitions, every row runs without then with memsight.
# The ratio (with/without, 1.0000 = no overhead) is the median over the
# repetitions of the per-pair ratios, of throughput (ops/s) and of ops per
# second of the workload's CPU time (user+system of all its threads, where
# the uprobes' cost lands; less sensitive to other load on the machine). Nothing is pinned unless
# WORKLOAD_CPU (and MEMSIGHT_CPU) name CPUs for taskset.
#
# Needs root. Duration: REPS × rows × 2 × (DUR + ~1.5 s): ≈ 3 min with
# the defaults (REPS=5 DUR=5s, 3 rows; 4 with fin+trace: ≈ 4 min); REPS=5
# DUR=2s takes ≈ 1.5 min.
# ROWS="fin alloc" runs a part.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
REPS=${REPS:-5}
DUR=${DUR:-5s}
ROWS=${ROWS:-fin alloc alloc+probes fin+trace}
WORKLOAD_CPU=${WORKLOAD_CPU:-}
MEMSIGHT_CPU=${MEMSIGHT_CPU:-}
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_init run
bench_build_memsight
go build -o "$bench_tmp/workload" ./bench/workload

trace=0
"$MEMSIGHT" attach --help 2>&1 | grep -q -- '--trace-finalizers' && trace=1
# row LABEL: sets row_mode and row_flags.
row() {
	case $1 in
	fin) row_mode=fin row_flags=() ;;
	alloc) row_mode=alloc row_flags=() ;;
	alloc+probes) row_mode=alloc row_flags=(--alloc-probes) ;;
	fin+trace) row_mode=fin row_flags=(--trace-finalizers) ;;
	*) echo "unknown row $1 (fin, alloc, alloc+probes, fin+trace)" >&2; exit 1 ;;
	esac
}
rows=() skipped=
for r in $ROWS; do
	row "$r"
	if [ "$r" = fin+trace ] && [ "$trace" = 0 ]; then
		skipped=" (fin+trace left out: this memsight attach has no --trace-finalizers)"
		continue
	fi
	rows+=("$r")
done

pin() { [ -n "$1" ] && echo "taskset -c $1" || echo "not pinned"; }
bench_header "bench/run.sh: workload throughput without and with memsight attach"
echo "workload: bench/workload -mode fin|alloc -duration $DUR ($(go version | cut -d' ' -f3)); $(pin "$WORKLOAD_CPU")"
echo "memsight: $MEMSIGHT attach PID -o json [row flags]; $(pin "$MEMSIGHT_CPU")"
echo "runs:     REPS=$REPS, rows: ${rows[*]}$skipped, alternating without/with"
bench_loadavg_start

# run MODE ATTACH(0|1) [memsight flags...]: one run; sets run_ops (ops/s)
# and run_eff (ops per CPU-second).
run() {
	local mode=$1 attach=$2 fifo out pid ms='' wl=() mc=()
	shift 2
	[ -n "$WORKLOAD_CPU" ] && wl=(taskset -c "$WORKLOAD_CPU")
	[ -n "$MEMSIGHT_CPU" ] && mc=(taskset -c "$MEMSIGHT_CPU")
	fifo=$bench_tmp/go
	out=$bench_tmp/workload.out
	rm -f "$fifo" "$out" "$bench_tmp/attach.json"
	mkfifo "$fifo"
	: >"$out" # exists before the workload opens it (after the fifo)
	"${wl[@]}" "$bench_tmp/workload" -mode "$mode" -duration "$DUR" -wait <"$fifo" >"$out" &
	pid=$!
	bench_kill+=("$pid")
	exec 3>"$fifo"
	until grep -q READY "$out"; do sleep 0.02; done
	if [ "$attach" = 1 ]; then
		"${mc[@]}" "$MEMSIGHT" attach "$pid" -o json "$@" >"$bench_tmp/attach.json" 2>"$bench_tmp/attach.log" &
		ms=$!
		bench_term+=("$ms")
		until [ -s "$bench_tmp/attach.json" ]; do # the first sample: attached
			kill -0 "$ms" 2>/dev/null || { cat "$bench_tmp/attach.log" >&2; exit 1; }
			sleep 0.02
		done
	fi
	echo go >&3
	exec 3>&-
	wait "$pid"
	[ -n "$ms" ] && bench_stop_memsight "$ms"
	run_ops=$(awk '$1 == "ops_per_sec" {print $2}' "$out")
	run_eff=$(awk '$3 == "ops_per_cpu_sec" {print $4}' "$out")
	if [ -z "$run_ops" ] || [ -z "$run_eff" ]; then
		echo "no ops_per_sec and ops_per_cpu_sec from the workload:" >&2
		cat "$out" >&2
		exit 1
	fi
}

declare -A base with ratio cratio
echo
printf "%-4s %-14s %14s %14s %8s %14s %14s %8s\n" rep row "ops/s w/o" "ops/s with" ratio "ops/cpu-s w/o" "ops/cpu-s with" "ratio"
for ((i = 1; i <= REPS; i++)); do
	for r in "${rows[@]}"; do
		row "$r"
		run "$row_mode" 0
		b=$run_ops be=$run_eff
		run "$row_mode" 1 "${row_flags[@]}"
		w=$run_ops we=$run_eff
		base[$r]+="$b " with[$r]+="$w " ratio[$r]+="$(bench_ratio "$w" "$b") " cratio[$r]+="$(bench_ratio "$we" "$be") "
		printf "%-4s %-14s %14.0f %14.0f %8.4f %14.0f %14.0f %8.4f\n" "$i" "$r" "$b" "$w" "$(bench_ratio "$w" "$b")" \
			"$be" "$we" "$(bench_ratio "$we" "$be")"
	done
done

echo
echo "Medians over $REPS pairs (ratio = median of the per-pair with/without; 1.0000 = no overhead):"
printf "%-14s %14s %14s %8s %17s %11s %17s\n" row "ops/s w/o" "ops/s with" ratio "ratio min..max" "cpu ratio" "cpu ratio min..max"
for r in "${rows[@]}"; do
	# shellcheck disable=SC2086 # word lists
	printf "%-14s %14.0f %14.0f %8.4f %8.4f..%-8.4f %11.4f %8.4f..%-8.4f\n" "$r" "$(bench_median ${base[$r]})" "$(bench_median ${with[$r]})" \
		"$(bench_median ${ratio[$r]})" "$(bench_min ${ratio[$r]})" "$(bench_max ${ratio[$r]})" \
		"$(bench_median ${cratio[$r]})" "$(bench_min ${cratio[$r]})" "$(bench_max ${cratio[$r]})"
done
echo "(cpu ratio: ops per CPU-second of the workload, with/without)"
echo
bench_loadavg_report
