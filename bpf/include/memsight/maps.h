/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps every memsight program shares, and the helpers around them:
 * the tgid filter, per-process state, per-attachment config, the ring buffer
 * and the morestack re-execution filter for function-entry probes.
 */
#ifndef __MEMSIGHT_MAPS_H
#define __MEMSIGHT_MAPS_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/events.h>
#include <memsight/goabi.h>

#define MAX_PROCS 16384
#define MAX_BINCONFIGS 1024
#define MAX_RUNS 16384
#define RINGBUF_BYTES (1024 * 1024)
/* Wake the reader only once this much is pending (see event_submit). */
#define RINGBUF_WAKEUP_BYTES (RINGBUF_BYTES / 8)

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

/* Per-attachment config; the index is the probe's BPF cookie. */
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

#define INC(field) __sync_fetch_and_add(&(field), 1)
#define ADD(field, n) __sync_fetch_and_add(&(field), (n))

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/* The state of a watched process, created on first use; NULL when not watched. */
static __always_inline struct proc_state *proc_get(__u32 tgid)
{
	struct proc_state *p;

	if (!bpf_map_lookup_elem(&watched, &tgid))
		return NULL;
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (p)
		return p;
	struct proc_state zero = {};
	bpf_map_update_elem(&procs, &tgid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&procs, &tgid);
}

/*
 * A probe's BPF cookie: bits 0-15 index binconfigs; for function-entry
 * probes, bits 16-31 are the probe's offset from the function's entry and
 * bits 32-63 the function's size (see entry.h). pkg/probe packs it.
 */
#define cookie_config(c) ((__u32)((c)&0xffff))
#define cookie_func_delta(c) (((c) >> 16) & 0xffff)
#define cookie_func_size(c) ((c) >> 32)

/* The attachment's config, or NULL when the cookie names no valid entry. */
static __always_inline const struct binconfig *config_get(void *ctx)
{
	__u32 idx = cookie_config(bpf_get_attach_cookie(ctx));
	const struct binconfig *c = bpf_map_lookup_elem(&binconfigs, &idx);

	if (!c || !(c->flags & CFG_VALID))
		return NULL;
	return c;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
}

/* Reserves an event and fills its header; NULL (and a counted drop) when full. */
static __always_inline struct event *event_reserve(__u16 kind, __u16 flags, __u64 now)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e) {
		count_drop();
		return NULL;
	}
	e->kind = kind;
	e->flags = flags;
	e->reason = 0;
	e->tgid = id >> 32;
	e->tid = (__u32)id;
	e->ts_ns = now;
	e->pc = 0;
	e->goid = 0;
	e->duration_ns = 0;
	e->arg = 0;
	return e;
}

/*
 * Submits a record without waking the reader, unless an eighth of the ring is
 * pending. The reader polls (pkg/probe reads with a deadline), so events
 * arrive within its poll interval. A wakeup per record costs an irq_work
 * self-IPI, several microseconds per probe hit in a VM.
 */
static __always_inline void event_submit(void *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= RINGBUF_WAKEUP_BYTES)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* Reads an 8-byte user word; 0 on failure (counted). */
static __always_inline __u64 read_u64(struct proc_state *p, __u64 addr)
{
	__u64 v = 0;

	if (!addr || bpf_probe_read_user(&v, sizeof(v), (const void *)addr)) {
		INC(p->read_errors);
		return 0;
	}
	return v;
}

/* The current goroutine's ID, 0 when the offset is unknown or the read fails. */
static __always_inline __u64 current_goid(go_regs *ctx, const struct binconfig *c, struct proc_state *p)
{
	if (!c || c->goid_off < 0 || c->goid_off > 4096)
		return 0;
	return read_u64(p, GO_G(ctx) + (__u64)c->goid_off);
}

#endif /* __MEMSIGHT_MAPS_H */
