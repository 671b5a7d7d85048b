// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Opt-in allocation probes (memsight attach --alloc-probes): entry probes on
 * the Go allocator's slow paths (mcache.refill, mheap.alloc, the large
 * allocation function) and, only on request, on the mallocgc family. Each
 * hit of a watched process records its user stack and byte count in
 * alloc_sites; every hit counts in its probe's alloc_hits slot, from which
 * pkg/observe estimates the probes' overhead and detaches the costly ones.
 *
 * The stack: probes sit on the prologue's stack-check branch, before the
 * function pushes its frame pointer, so the frame-pointer chain starts at
 * the caller's frame and yields the caller's caller first. The return
 * address into the caller is read from the stack (amd64: *SP) or the link
 * register (arm64) and put in pcs[1]. Go keeps frame pointers on amd64 and
 * arm64 (every function with a frame saves one).
 *
 * One allocation passes several probed functions (mallocgcLarge calls
 * mheap.alloc; refill may call mheap.alloc; a 1.27 size-specialized function
 * calls its slow path). Only the outermost probed call of an allocation is
 * recorded: see struct alloc_call. Part of memsight.bpf.c.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/alloc.h>
#include <memsight/goabi.h>
#include <memsight/maps.h>

#define GO_PAGE_SIZE 8192

static __always_inline void alloc_count(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&alloc_counters, &idx);

	if (n)
		*n += 1;
}

/* The return address into the probed function's caller, 0 if unreadable. */
static __always_inline __u64 caller_ret(go_regs *ctx)
{
#if defined(__TARGET_ARCH_arm64)
	return GO_LR(ctx); /* the frame is not set up yet */
#else
	__u64 ret = 0;

	bpf_probe_read_user(&ret, sizeof(ret), (const void *)GO_SP(ctx));
	return ret;
#endif
}

/*
 * Fills k->pcs: the probed instruction, the return address into the caller,
 * then the frame-pointer chain from the caller's frame: [FP] is the next
 * frame pointer and [FP+8] a return address, on amd64 and arm64 alike. The
 * walk stops at a zero or non-increasing frame pointer (the chain's end, or
 * a switch to another stack) or an unreadable frame. Returns the number of
 * frames, 0 when not even the caller could be read.
 *
 * This is bpf_get_stack(BPF_F_USER_STACK) done by hand: the kernel's walk
 * would miss the caller (it adds *SP only at a probed PUSH %rbp) and cost
 * about twice as much per hit on the test VM (1.3 vs 0.6 us).
 */
static __always_inline int alloc_stack(go_regs *ctx, struct alloc_site *k)
{
	__u64 fp = GO_FP(ctx), fr[2];
	int n = 2;

	__builtin_memset(k->pcs, 0, sizeof(k->pcs));
	k->pcs[0] = GO_IP(ctx);
	k->pcs[1] = caller_ret(ctx);
	if (!k->pcs[1])
		return 0;
	for (int i = 2; i < ALLOC_MAX_FRAMES; i++) {
		if (!fp || bpf_probe_read_user(fr, sizeof(fr), (const void *)fp) || !fr[1])
			break;
		k->pcs[i] = fr[1];
		n = i + 1;
		if (fr[0] <= fp)
			break;
		fp = fr[0];
	}
	return n;
}

static __always_inline __u64 alloc_bytes(go_regs *ctx, __u64 cookie)
{
	__u32 class;
	__u32 *span;

	switch (cookie_alloc_mode(cookie)) {
	case ALLOC_SIZE_ARG1:
		return GO_ARG1(ctx);
	case ALLOC_SIZE_ARG2:
		return GO_ARG2(ctx);
	case ALLOC_SIZE_PAGES_ARG2:
		return GO_ARG2(ctx) * GO_PAGE_SIZE;
	case ALLOC_SIZE_SPAN_ARG2:
		class = (GO_ARG2(ctx) & 0xff) >> 1; /* spanClass = sizeclass<<1 | noscan */
		span = bpf_map_lookup_elem(&alloc_span_bytes, &class);
		return span ? *span : 0;
	}
	return 0;
}

/*
 * Reports whether the hit with stack k is inside the last recorded call on
 * this CPU: same thread, and that call's return address appears above a
 * return address into its function (so the call is still on the stack).
 */
static __always_inline bool alloc_nested(const struct alloc_site *k, const struct alloc_call *last, __u32 tid)
{
	if (last->tid != tid || !last->ret)
		return false;
	for (int i = 2; i < ALLOC_MAX_FRAMES; i++) {
		__u64 inner = k->pcs[i - 1];

		if (!k->pcs[i])
			return false;
		if (k->pcs[i] == last->ret && (!last->func_hi || (inner > last->func_lo && inner <= last->func_hi)))
			return true;
	}
	return false;
}

GO_UPROBE(alloc_probe)
{
	__u64 id = bpf_get_current_pid_tgid(), *hits, size;
	__u32 slot = cookie_index(cookie), tgid = id >> 32, tid = (__u32)id, zero = 0;
	struct alloc_site key, *k = &key;
	struct alloc_call *last;
	struct alloc_stat *st, init = {};

	hits = bpf_map_lookup_elem(&alloc_hits, &slot);
	if (hits)
		*hits += 1;
	if (!bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	last = bpf_map_lookup_elem(&alloc_last, &zero);
	if (!last)
		return 0;

	if (!alloc_stack(ctx, k)) {
		alloc_count(ALLOC_CNT_STACK_ERR);
		return 0;
	}
	k->tgid = tgid;
	k->pad = 0;

	if (alloc_nested(k, last, tid)) {
		alloc_count(ALLOC_CNT_NESTED);
		return 0;
	}
	last->tid = tid;
	last->ret = k->pcs[1];
	size = cookie_func_size(cookie);
	last->func_lo = k->pcs[0] - cookie_alloc_delta(cookie);
	last->func_hi = size ? last->func_lo + size : 0;

	st = bpf_map_lookup_elem(&alloc_sites, k);
	if (!st) {
		bpf_map_update_elem(&alloc_sites, k, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&alloc_sites, k);
		if (!st) {
			alloc_count(ALLOC_CNT_SITES_FULL);
			return 0;
		}
	}
	ADD(st->hits, 1);
	ADD(st->bytes, alloc_bytes(ctx, cookie));
	return 0;
}
