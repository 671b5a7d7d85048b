// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the programs' logic, driven by pkg/probe's progrun_*_test.go.
 *
 * BPF_PROG_TEST_RUN cannot run uprobe (kprobe-type) programs, but it runs
 * raw tracepoint programs, on the calling thread: bpf_get_current_pid_tgid
 * is the test's own, and user-memory reads read the test's memory. So this
 * unit is the shipped one (memsight.bpf.c, included whole: the same maps,
 * helpers and probe bodies) plus one raw tracepoint program per uprobe,
 * test_<name>, that runs the uprobe's body (<name>_hit, see GO_UPROBE) on
 * the registers and cookie the test put in test_input. The test then reads
 * the shipped maps (procs, entry_last, alloc_sites, ...) and events.
 */
#include "../memsight.bpf.c"

/* What a probe hit sees: the registers and the probe's BPF cookie. */
struct input {
	go_regs regs;
	__u64 cookie;
};

/* A cookie as the kernel side decodes it (test_cookie). */
struct cookie_fields {
	__u32 index;
	__u32 alloc_mode;
	__u64 entry_delta;
	__u64 alloc_delta;
	__u64 func_size;
};

/* Types the tests need that no program references: keep them in the BTF for bpf2go -type. */
const enum entry_probe *unused_entry_probe __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct input);
} test_input SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cookie_fields);
} test_cookie_out SEC(".maps");

static __always_inline struct input *input_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&test_input, &zero);
}

/* test_<name> runs the body of uprobe <name> on test_input; -1 without input. */
#define TEST_UPROBE(name)                                           \
	SEC("raw_tracepoint/test")                                  \
	int test_##name(void *ctx)                                  \
	{                                                           \
		struct input *in = input_get();                     \
                                                                    \
		return in ? name##_hit(&in->regs, in->cookie) : -1; \
	}

TEST_UPROBE(queuefinalizer)
TEST_UPROBE(setfinalizer)
TEST_UPROBE(finalizer_start)
TEST_UPROBE(finalizer_end)
TEST_UPROBE(cleanup_enqueue)
TEST_UPROBE(cleanup_start)
TEST_UPROBE(cleanup_end)
TEST_UPROBE(gc_start_cycle)
TEST_UPROBE(stw_stop)
TEST_UPROBE(stw_start)
TEST_UPROBE(alloc_probe)

/* Decodes test_input's cookie into test_cookie_out. */
SEC("raw_tracepoint/test")
int test_cookie(void *ctx)
{
	struct input *in = input_get();
	struct cookie_fields f;
	__u32 zero = 0;

	if (!in)
		return -1;
	f.index = cookie_index(in->cookie);
	f.alloc_mode = cookie_alloc_mode(in->cookie);
	f.entry_delta = cookie_entry_delta(in->cookie);
	f.alloc_delta = cookie_alloc_delta(in->cookie);
	f.func_size = cookie_func_size(in->cookie);
	bpf_map_update_elem(&test_cookie_out, &zero, &f, BPF_ANY);
	return 0;
}
