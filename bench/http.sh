#!/usr/bin/env bash
# bench/http.sh [BIN]: what memsight costs a real third-party Go HTTP server.
#
# caddy $CADDY_VERSION (built once from the Go module proxy into
# $BENCH_CACHE, never committed) serves a 5-byte response on 127.0.0.1,
# pinned to CPU $SERVER_CPU; wrk (one thread, $CONNS connections) loads it
# from CPU $CLIENT_CPU for $DUR seconds after a $WARMUP s warm-up:
#
#   close      a new TCP connection per request (-H 'Connection: close');
#              checked: the kernel's TCP PassiveOpens grow by about one per
#              request (the conn/req column; ≈ 1.00)
#   keepalive  $CONNS connections reused for every request (conn/req ≈ 0)
#
# under three modes: without memsight; with `memsight agent` (defaults, but
# --include-comm '^msbench-caddy$' so that the rest of the machine is not
# watched, and --listen on a loopback port); with `memsight attach PID -o
# json`. Each run starts a fresh server (and memsight, which must be
# watching it before the warm-up). Runs alternate: for each load and each
# of $REPS repetitions, without, agent, without, attach. Each ratio is the
# median over the repetitions of with/without of adjacent runs, of
# requests/s and of requests per second of the server's CPU time (its
# utime+stime over the measured window, where the uprobes' cost lands; less
# sensitive to other load on the machine). memsight itself is not pinned:
# its CPU (utime+stime over the measured window, % of one core) is reported.
#
# Needs root, curl, wrk (installed with apt-get when missing).
# Duration: about 40 runs of DUR + WARMUP + ~3 s, ≈ 10 min with the
# defaults (REPS=5 DUR=10 WARMUP=2); REPS=5 DUR=3 WARMUP=1 takes ≈ 4 min.
# LOADS="close" or MODES="agent" run a part.
set -euo pipefail
MEMSIGHT=${1:-bin/memsight}
REPS=${REPS:-5}
DUR=${DUR:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-32}
LOADS=${LOADS:-close keepalive}
MODES=${MODES:-agent attach}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18280}
API_PORT=${API_PORT:-19480}
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_init http
bench_need curl wrk taskset
bench_build_memsight
caddy=$(bench_caddy)
cp "$caddy" "$bench_tmp/msbench-caddy" # comm msbench-caddy, for --include-comm

agent_args=(--listen "127.0.0.1:$API_PORT" --include-comm '^msbench-caddy$')
bench_header "bench/http.sh: requests/s of caddy without and with memsight"
echo "server:  $(bench_describe_exe "$caddy"), copied to msbench-caddy; Caddyfile: admin off, auto_https off, persist_config off,"
echo "         http://127.0.0.1:$PORT { respond \"hello\" }; taskset -c $SERVER_CPU (GOMAXPROCS 1)"
echo "client:  $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DUR}s [-H 'Connection: close'] after a ${WARMUP}s warm-up"
echo "agent:   $MEMSIGHT agent ${agent_args[*]}"
echo "attach:  $MEMSIGHT attach PID -o json"
echo "runs:    REPS=$REPS, LOADS=\"$LOADS\", MODES=\"$MODES\", alternating without/with"
bench_loadavg_start

# passive_opens: the kernel's count of accepted TCP connections.
passive_opens() {
	awk '/^Tcp:/ {if (!c) {for (i = 1; i <= NF; i++) if ($i == "PassiveOpens") c = i} else print $c}' /proc/net/snmp
}

# run LOAD MODE: one run; sets run_rps (requests/s), run_eff (requests per
# CPU-second of the server), run_conn (new TCP connections per request) and
# run_cpu (memsight's CPU, % of one core).
run() {
	local load=$1 mode=$2 srv ms='' out hdr=() po0 po1 t0 t1 s0 s1 rps reqs
	[ "$load" = close ] && hdr=(-H 'Connection: close')
	bench_start_caddy "$bench_tmp/msbench-caddy" "$PORT" "$SERVER_CPU"
	srv=$bench_pid
	case $mode in
	agent)
		bench_start_agent "$bench_tmp/agent.log" "${agent_args[@]}"
		ms=$bench_pid
		bench_wait_agent "http://127.0.0.1:$API_PORT" "$srv"
		;;
	attach)
		"$MEMSIGHT" attach "$srv" -o json >"$bench_tmp/attach.json" 2>"$bench_tmp/attach.log" &
		ms=$!
		bench_term+=("$ms")
		until [ -s "$bench_tmp/attach.json" ]; do # the first sample: attached
			kill -0 "$ms" 2>/dev/null || { cat "$bench_tmp/attach.log" >&2; exit 1; }
			sleep 0.05
		done
		;;
	esac
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${hdr[@]}" "http://127.0.0.1:$PORT/" >/dev/null
	po0=$(passive_opens)
	[ -n "$ms" ] && t0=$(bench_ticks "$ms")
	s0=$(bench_ticks "$srv")
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" "${hdr[@]}" "http://127.0.0.1:$PORT/")
	s1=$(bench_ticks "$srv")
	[ -n "$ms" ] && t1=$(bench_ticks "$ms")
	po1=$(passive_opens)
	if grep -qE 'Socket errors|Non-2xx' <<<"$out"; then
		echo "wrk reported errors ($load, $mode):" >&2
		grep -E 'Socket errors|Non-2xx' <<<"$out" >&2
	fi
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	if [ -n "$ms" ]; then
		kill -0 "$ms" 2>/dev/null || { echo "memsight $mode exited during the run" >&2; exit 1; }
		bench_stop_memsight "$ms"
	fi
	bench_stop "$srv"
	run_rps=$rps
	run_eff=$(awk -v r="$reqs" -v d=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", d ? r * hz / d : 0}')
	run_conn=$(awk -v o=$((po1 - po0)) -v r="$reqs" 'BEGIN {printf "%.4f", o / r}')
	run_cpu=-
	[ -n "$ms" ] && run_cpu=$(bench_cpu_pct $((t1 - t0)) "$DUR")
	return 0
}

declare -A base with ratio cratio conn cpu
echo
printf "%-5s %-9s %-7s %12s %12s %8s %13s %13s %8s %9s %12s\n" pair load mode "req/s w/o" "req/s with" ratio \
	"req/cpu-s w/o" "req/cpu-s with" ratio conn/req "memsight cpu%"
for load in $LOADS; do
	for ((r = 1; r <= REPS; r++)); do
		for mode in $MODES; do
			run "$load" none
			b=$run_rps be=$run_eff bc=$run_conn
			run "$load" "$mode"
			w=$run_rps we=$run_eff wcpu=$run_cpu
			k="$load $mode"
			base[$k]+="$b "
			with[$k]+="$w "
			ratio[$k]+="$(bench_ratio "$w" "$b") "
			cratio[$k]+="$(bench_ratio "$we" "$be") "
			conn[$load]+="$bc "
			cpu[$k]+="$wcpu "
			printf "%-5s %-9s %-7s %12.0f %12.0f %8.4f %13.0f %13.0f %8.4f %9s %12s\n" "$r" "$load" "$mode" "$b" "$w" \
				"$(bench_ratio "$w" "$b")" "$be" "$we" "$(bench_ratio "$we" "$be")" "$bc" "$wcpu"
		done
	done
done

echo
echo "Medians over $REPS pairs (ratio = median of the per-pair with/without; 1.0000 = no cost):"
printf "%-9s %-7s %12s %12s %8s %17s %10s %17s %9s %12s\n" load mode "req/s w/o" "req/s with" ratio "ratio min..max" \
	"cpu ratio" "cpu ratio min..max" conn/req "memsight cpu%"
for load in $LOADS; do
	for mode in $MODES; do
		k="$load $mode"
		# shellcheck disable=SC2086 # word lists
		printf "%-9s %-7s %12.0f %12.0f %8.4f %8.4f..%-8.4f %10.4f %8.4f..%-8.4f %9.4f %12.2f\n" "$load" "$mode" \
			"$(bench_median ${base[$k]})" "$(bench_median ${with[$k]})" "$(bench_median ${ratio[$k]})" \
			"$(bench_min ${ratio[$k]})" "$(bench_max ${ratio[$k]})" \
			"$(bench_median ${cratio[$k]})" "$(bench_min ${cratio[$k]})" "$(bench_max ${cratio[$k]})" \
			"$(bench_median ${conn[$load]})" "$(bench_median ${cpu[$k]})"
	done
done
echo "(cpu ratio: requests per CPU-second of the server, with/without)"
echo
bench_loadavg_report
