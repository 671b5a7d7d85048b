// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The helpers every program shares, around the maps of maps.bpf.c: the tgid
 * filter and per-process state, the BPF cookie and per-attachment config,
 * ring-buffer records and user-memory reads. Part of memsight.bpf.c, after
 * maps.bpf.c.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/cookie.h>
#include <memsight/events.h>
#include <memsight/goabi.h>
#include <memsight/maps.h>

/* Wake the reader only once this much is pending (see event_submit). */
#define RINGBUF_WAKEUP_BYTES (RINGBUF_BYTES / 8)
/* Offsets into runtime.g from binconfig beyond this are not trusted. */
#define G_FIELD_MAX 4096

#define INC(field) __sync_fetch_and_add(&(field), 1)
#define ADD(field, n) __sync_fetch_and_add(&(field), (n))

/*
 * GO_UPROBE(name) { body } defines the uprobe program name, which passes its
 * registers and BPF cookie to the body, static inline name##_hit(ctx, cookie).
 * The body is the probe's logic, which bpf/tests drives with
 * BPF_PROG_TEST_RUN (a uprobe program cannot be test-run).
 */
#define GO_UPROBE(name)                                                    \
	static __always_inline int name##_hit(go_regs *ctx, __u64 cookie); \
	SEC("uprobe")                                                      \
	int name(go_regs *ctx)                                             \
	{                                                                  \
		return name##_hit(ctx, bpf_get_attach_cookie(ctx));        \
	}                                                                  \
	static __always_inline int name##_hit(go_regs *ctx, __u64 cookie)

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

/* The fields of a BPF cookie (<memsight/cookie.h>). */
static __always_inline __u32 cookie_index(__u64 c)
{
	return c & ((1ULL << COOKIE_INDEX_BITS) - 1);
}

static __always_inline __u64 cookie_entry_delta(__u64 c)
{
	return (c >> COOKIE_ENTRY_DELTA_SHIFT) & ((1ULL << COOKIE_ENTRY_DELTA_BITS) - 1);
}

static __always_inline __u32 cookie_alloc_mode(__u64 c)
{
	return (c >> COOKIE_ALLOC_MODE_SHIFT) & ((1ULL << COOKIE_ALLOC_MODE_BITS) - 1);
}

static __always_inline __u64 cookie_alloc_delta(__u64 c)
{
	return (c >> COOKIE_ALLOC_DELTA_SHIFT) & ((1ULL << COOKIE_ALLOC_DELTA_BITS) - 1);
}

static __always_inline __u64 cookie_func_size(__u64 c)
{
	return c >> COOKIE_FUNC_SIZE_SHIFT;
}

/* The attachment's config, or NULL when the cookie names no valid entry. */
static __always_inline const struct binconfig *config_get(__u64 cookie)
{
	__u32 idx = cookie_index(cookie);
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
	if (!c || c->goid_off < 0 || c->goid_off > G_FIELD_MAX)
		return 0;
	return read_u64(p, GO_G(ctx) + (__u64)c->goid_off);
}
