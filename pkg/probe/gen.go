package probe

// The BPF object is compiled from bpf/memsight.bpf.c by bpf2go with clang-14,
// for amd64 and arm64 (the programs read registers, so each architecture gets
// its own object). The outputs memsight_{x86,arm64}_bpfel.{go,o} are committed;
// regenerate with `go generate ./pkg/probe` (or `make generate`).

//go:generate go tool bpf2go -cc clang-14 -target amd64,arm64 -type event -type exit_event -type event_kind -type event_flag -type stw_reason -type cleanup_mode -type binconfig_flag -type alloc_size_mode -type alloc_counter -type alloc_site -type alloc_stat -type alloc_call -type limit -type cookie_layout memsight ../../bpf/memsight.bpf.c -- -I../../bpf/include -Wall -Wpadded -Werror

// The unit tests' object (progrun_*_test.go): bpf/tests/memsight_test.bpf.c,
// the shipped unit plus raw tracepoint programs that run the uprobes' bodies
// with BPF_PROG_TEST_RUN. Test files only (-output-suffix _test).
//go:generate go tool bpf2go -cc clang-14 -target amd64,arm64 -output-suffix _test -type input -type cookie_fields -type entry_probe bpftest ../../bpf/tests/memsight_test.bpf.c -- -I../../bpf/include -Wall -Wpadded -Werror
