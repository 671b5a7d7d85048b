// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every map of the object, sized by enum limit (<memsight/maps.h>). Part of
 * memsight.bpf.c, which includes it first.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/alloc.h>
#include <memsight/events.h>
#include <memsight/maps.h>

/* Processes to record, tgid -> 1. Probes of unwatched processes return at once. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, __u8);
} watched SEC(".maps");

/* Counters and in-flight finalizer per watched tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROCS);
	__type(key, __u32);
	__type(value, struct proc_state);
} procs SEC(".maps");

/* Per-attachment config; the index is in the probe's BPF cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BINCONFIGS);
	__type(key, __u32);
	__type(value, struct binconfig);
} binconfigs SEC(".maps");

/* Running cleanups (several may run at once, on different goroutines). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_RUNS);
	__type(key, struct run_key);
	__type(value, struct run);
} cleanup_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps");

/* Records lost because the ring buffer was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Last entry hit per (process, goroutine, probe); old goroutines age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRY_LAST);
	__type(key, struct entry_key);
	__type(value, struct entry_args);
} entry_last SEC(".maps");

/* stopTheWorldWithSema hits per thread, to pair with the restart before Go 1.22. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_STW_STOPS);
	__type(key, __u32);
	__type(value, struct stw_stop);
} stw_stops SEC(".maps");

/* Allocation probes: (process, stack) -> hits and bytes. Allocated on use: nothing when unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALLOC_MAX_SITES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct alloc_site);
	__type(value, struct alloc_stat);
} alloc_sites SEC(".maps");

/* Hits per attached allocation probe (the cookie's index), every process. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ALLOC_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} alloc_hits SEC(".maps");

/* Bytes of one span per size class (pkg/probe fills it from goexe). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ALLOC_NUM_CLASSES);
	__type(key, __u32);
	__type(value, __u32);
} alloc_span_bytes SEC(".maps");

/* enum alloc_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ALLOC_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} alloc_counters SEC(".maps");

/* The last recorded allocation call per CPU (struct alloc_call). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct alloc_call);
} alloc_last SEC(".maps");
