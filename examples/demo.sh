#!/usr/bin/env bash
# make demo: start the example service (examples/leakyservice), whose
# finalizer goroutine gets stuck after a few seconds, and look at it with
# memsight. Needs root (or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE).
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/leakyservice ./examples/leakyservice

bin/leakyservice -rate 200 -stall-after 5s >/dev/null &
SVC=$!
trap 'kill $SVC 2>/dev/null || true' EXIT
sleep 1

echo "\$ memsight ps"
"$MEMSIGHT" ps
if "$MEMSIGHT" help attach >/dev/null 2>&1; then
	echo
	echo "# the upstream hangs after 5 s: the finalizer (*Conn).Close blocks and every Conn queues behind it"
	sleep 7
	echo "\$ memsight attach $SVC --duration 10s --interval 3s"
	"$MEMSIGHT" attach "$SVC" --duration 10s --interval 3s
fi
