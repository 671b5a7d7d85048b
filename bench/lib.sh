# bench/lib.sh: helpers shared by the bench/*.sh scripts (sourced, not run).
#
# Conventions of every script: ratios are with/without memsight from runs of
# one script invocation, alternating (without, with, without, with, ...),
# each ratio the median of the per-pair ratios; the load average is sampled
# during the run and reported; third-party programs are built from the Go
# module proxy into $BENCH_CACHE (outside the repository) and reused.

# shellcheck shell=bash disable=SC2034 # the variables set here are read by the scripts
BENCH_CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memsight-bench}
CADDY_VERSION=${CADDY_VERSION:-v2.11.9}

bench_tmp=
bench_kill=()   # PIDs killed with SIGKILL at exit (targets, load generators)
bench_term=()   # PIDs stopped with SIGTERM at exit (memsight: detaches its probes)
bench_loadavg=  # PID of the load-average sampler
bench_cleanup_hook=:
bench_pid=      # set by the bench_start_* functions (for the caller)

# bench_init NAME: temporary directory, exit trap, root check.
bench_init() {
	[ "$(id -u)" = 0 ] || { echo "bench/$1.sh needs root (BPF)" >&2; exit 1; }
	bench_tmp=$(mktemp -d "/tmp/msbench-$1.XXXXXX")
	chmod 755 "$bench_tmp"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	local p
	$bench_cleanup_hook
	for p in "${bench_kill[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${bench_term[@]}" $bench_loadavg; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${bench_kill[@]}" "${bench_term[@]}" $bench_loadavg; do wait "$p" 2>/dev/null || true; done
	[ -n "$bench_tmp" ] && rm -rf "$bench_tmp"
}

# bench_need TOOL...: each command must exist; wrk is installed with
# apt-get when missing (a Debian package).
bench_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		if [ "$t" = wrk ] && command -v apt-get >/dev/null; then
			echo "installing wrk with apt-get" >&2
			apt-get install -y -qq wrk >&2 && continue
		fi
		echo "this benchmark needs $t" >&2
		exit 1
	done
}

# bench_header TITLE: what runs where, printed before the results.
bench_header() {
	echo "== $1"
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $(uname -sr), $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
	echo "go:      $(go version | cut -d' ' -f3-)"
	[ -n "${MEMSIGHT:-}" ] && [ -x "$MEMSIGHT" ] && echo "memsight: $("$MEMSIGHT" version 2>&1 | head -1)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_build_memsight: builds $MEMSIGHT with make build.
bench_build_memsight() {
	make -s build BIN="$MEMSIGHT" >&2
}

# bench_caddy: prints the path of caddy $CADDY_VERSION, built once with
# `go install` from the Go module proxy into $BENCH_CACHE (about 4 minutes
# and 80 MB the first time; the local toolchain only).
bench_caddy() {
	local dir=$BENCH_CACHE/caddy-$CADDY_VERSION
	local exe=$dir/caddy
	if ! go version -m "$exe" 2>/dev/null | grep -q "^[[:space:]]mod[[:space:]]github.com/caddyserver/caddy/v2[[:space:]]${CADDY_VERSION}[[:space:]]"; then
		echo "building caddy $CADDY_VERSION from the Go module proxy into $dir (once; about 4 minutes cold)" >&2
		mkdir -p "$dir"
		GOTOOLCHAIN=local GOFLAGS='' GOBIN=$dir go install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION" >&2
	fi
	echo "$exe"
}

# bench_describe_exe EXE: module version, Go version, size of a Go executable.
bench_describe_exe() {
	local mod gov
	gov=$(go version "$1" | awk '{print $NF}')
	mod=$(go version -m "$1" | awk '$1 == "mod" {print $2 "@" $3; exit}')
	echo "${mod:-$(basename "$1")} ($gov, $(($(stat -c %s "$1") / 1048576)) MiB, $1)"
}

# bench_caddyfile PORT FILE: a Caddyfile serving "hello" on 127.0.0.1:PORT
# with no admin endpoint, no HTTPS and no state written to $HOME.
bench_caddyfile() {
	cat >"$2" <<EOF
{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:$1 {
	respond "hello"
}
EOF
}

# bench_start_caddy EXE PORT [taskset CPU list]: starts caddy, waits until
# it answers, sets bench_pid to its PID (not a $(...) call: the process
# must be this shell's child). Its logs go to $bench_tmp/caddy-PORT.log.
bench_start_caddy() {
	local exe=$1 port=$2 cpus=${3:-} pid i
	bench_caddyfile "$port" "$bench_tmp/Caddyfile-$port"
	local run=(env XDG_DATA_HOME="$bench_tmp/xdg" XDG_CONFIG_HOME="$bench_tmp/xdg" "$exe" run --config "$bench_tmp/Caddyfile-$port" --adapter caddyfile)
	[ -n "$cpus" ] && run=(taskset -c "$cpus" "${run[@]}")
	"${run[@]}" >"$bench_tmp/caddy-$port.log" 2>&1 &
	pid=$!
	bench_kill+=("$pid")
	for ((i = 0; i < 300; i++)); do
		curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && { bench_pid=$pid; return; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "caddy on port $port did not start:" >&2
	tail -5 "$bench_tmp/caddy-$port.log" >&2
	exit 1
}

# bench_stop PID: SIGKILL and reap (targets).
bench_stop() {
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bench_stop_memsight PID: SIGTERM (memsight detaches) and reap.
bench_stop_memsight() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# bench_loadavg_start: samples the 1-minute load average every 5 s.
bench_loadavg_start() {
	(while :; do cut -d' ' -f1 /proc/loadavg; sleep 5; done) >"$bench_tmp/loadavg" &
	bench_loadavg=$!
}

# bench_loadavg_report: min / median / max of the samples so far.
bench_loadavg_report() {
	local v
	mapfile -t v <"$bench_tmp/loadavg"
	[ "${#v[@]}" -gt 0 ] || v=("$(cut -d' ' -f1 /proc/loadavg)")
	echo "load average (1 min) during the run: min $(bench_min "${v[@]}"), median $(bench_median "${v[@]}"), max $(bench_max "${v[@]}") over ${#v[@]} samples every 5 s; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_median N...: the median (mean of the middle two for an even count).
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
bench_min() { printf '%s\n' "$@" | sort -g | head -1; }
bench_max() { printf '%s\n' "$@" | sort -g | tail -1; }

# bench_ratio A B: A/B with 4 decimals.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "nan"; else printf "%.4f\n", a / b}'; }

# bench_ticks PID: utime+stime of the process in clock ticks.
bench_ticks() {
	local s
	s=$(<"/proc/$1/stat")
	s=${s##*) }
	# shellcheck disable=SC2086 # split on purpose
	set -- $s
	echo $((${12} + ${13}))
}

# bench_cpu_pct TICKS SECONDS: % of one core.
bench_cpu_pct() { awk -v d="$1" -v hz="$(getconf CLK_TCK)" -v w="$2" 'BEGIN {printf "%.2f\n", 100 * d / hz / w}'; }

# bench_status_mib PID KEY: a /proc/PID/status value (kB) in MiB.
bench_status_mib() { awk -v k="$2:" '$1 == k {printf "%.1f\n", $2 / 1024}' "/proc/$1/status"; }

# bench_now_ms: wall clock in ms, without a fork.
bench_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# bench_wait_agent API PID: waits (60 s at most) until the agent at API
# watches PID (/api/v1/processes/PID answers 200, or 404 "no sample yet").
bench_wait_agent() {
	local api=$1 pid=$2 body code i
	for ((i = 0; i < 1200; i++)); do
		body=$(curl -s -w '\n%{http_code}' "$api/api/v1/processes/$pid")
		code=${body##*$'\n'}
		{ [ "$code" = 200 ] || [[ $body == *"no sample yet"* ]]; } && return 0
		sleep 0.05
	done
	echo "the agent at $api does not watch pid $pid after 60 s" >&2
	return 1
}

# bench_start_agent LOG ARGS...: starts `$MEMSIGHT agent ARGS...` (which
# must include --listen), waits until /readyz answers, sets bench_pid.
bench_start_agent() {
	local log=$1 pid listen i
	shift
	"$MEMSIGHT" agent "$@" 2>"$log" &
	pid=$!
	bench_term+=("$pid")
	listen=$(printf '%s\n' "$@" | awk 'p {print; exit} $0 == "--listen" {p = 1}')
	for ((i = 0; i < 600; i++)); do
		curl -sf "http://$listen/readyz" >/dev/null 2>&1 && { bench_pid=$pid; return; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "memsight agent did not become ready:" >&2
	tail -5 "$log" >&2
	exit 1
}

# bench_build_idle DIR: the idle target (testdata/targets/idle) as
# DIR/msbench-idle (default build) and DIR/msbench-idlesp (-s -w, PIE).
bench_build_idle() {
	go build -C testdata/targets/idle -o "$1/msbench-idle" . >&2
	go build -C testdata/targets/idle -buildmode=pie -ldflags='-s -w' -o "$1/msbench-idlesp" . >&2
}

# bench_duration_note TEXT: how long the script takes and what shortens it.
bench_duration_note() { echo "duration: $1"; }
