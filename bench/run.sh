#!/usr/bin/env bash
# bench/run.sh BIN: throughput of the workload target without and with
# `memsight attach`, on a finalizer-heavy and an allocation-heavy workload,
# and on the allocation-heavy one with `--alloc-probes` (slow paths, overhead
# governor at its default 1 % budget). Prints one ratio per row
# (with/without, 1.00 = no overhead), from one run each. Needs root. Results
# are recorded by hand in docs/benchmarks.md.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
DUR=${DUR:-5s}
cd "$(dirname "$0")/.."
go build -o bin/workload ./bench/workload

run() { # mode attach(0|1) [memsight flags...] -> ops/s
	local mode=$1 attach=$2 fifo out pid ops
	shift 2
	fifo=$(mktemp -u); mkfifo "$fifo"; out=$(mktemp)
	bin/workload -mode "$mode" -duration "$DUR" -wait <"$fifo" >"$out" &
	pid=$!
	exec 3>"$fifo"
	until grep -q READY "$out"; do sleep 0.05; done
	if [ "$attach" = 1 ]; then
		"$MEMSIGHT" attach "$pid" -o json "$@" >/dev/null 2>&1 &
		local ms=$!
		sleep 1
	fi
	echo go >&3; exec 3>&-
	wait "$pid"
	[ "$attach" = 1 ] && { kill -INT "$ms" 2>/dev/null || true; wait "$ms" 2>/dev/null || true; }
	ops=$(awk '/ops_per_sec/ {print $2}' "$out")
	rm -f "$fifo" "$out"
	echo "$ops"
}

row() { # label mode [memsight flags...]
	local label=$1 mode=$2 base with
	shift 2
	base=$(run "$mode" 0)
	with=$(run "$mode" 1 "$@")
	printf "%-14s %14s %14s %8.3f\n" "$label" "$base" "$with" "$(awk -v a="$with" -v b="$base" 'BEGIN{print a/b}')"
}

printf "%-14s %14s %14s %8s\n" workload "ops/s without" "ops/s with" ratio
row fin fin
row alloc alloc
row alloc+probes alloc --alloc-probes
