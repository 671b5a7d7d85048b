/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Records of the opt-in allocation probes (alloc.bpf.c), shared with
 * pkg/probe (bpf2go -type). Their cookie: <memsight/cookie.h>.
 */
#ifndef __MEMSIGHT_ALLOC_H
#define __MEMSIGHT_ALLOC_H

#include <linux/types.h>

#include <memsight/maps.h>

/* Where an allocation probe's hit finds its byte count (cookie bits 16-23). */
enum alloc_size_mode {
	ALLOC_SIZE_ARG1 = 0,       /* argument 1 is the object size */
	ALLOC_SIZE_ARG2 = 1,       /* argument 2 is the object size */
	ALLOC_SIZE_PAGES_ARG2 = 2, /* argument 2 is a count of 8 KiB pages */
	ALLOC_SIZE_SPAN_ARG2 = 3,  /* argument 2 is a spanClass: one span of its size class */
};

/* alloc_counters indexes (global, summed over CPUs). */
enum alloc_counter {
	ALLOC_CNT_NESTED = 0,     /* hits inside a probed allocation call: not recorded again */
	ALLOC_CNT_STACK_ERR = 1,  /* the user stack could not be read */
	ALLOC_CNT_SITES_FULL = 2, /* alloc_sites was full: the hit's site is lost */
	ALLOC_CNT_MAX = 3,
};

/*
 * One allocation site of one process: its user stack, innermost first.
 * pcs[0] is the probed instruction, pcs[1] the return address into the
 * probed function's caller, the rest return addresses from the frame-pointer
 * chain; unused slots are 0. PCs are as mapped in the process.
 */
struct alloc_site {
	__u32 tgid;
	__u32 pad;
	__u64 pcs[ALLOC_MAX_FRAMES];
};

struct alloc_stat {
	__u64 hits;
	__u64 bytes; /* see enum alloc_size_mode */
};

/*
 * The last recorded (outermost) allocation call on a CPU: the thread, the
 * return address into its caller and the probed function's bounds. A later
 * hit of the same thread whose stack holds that return address above a
 * return address into that function is inside the same call. Per CPU, not
 * per thread, to stay cheap: a thread that migrates, or is preempted by
 * another probed thread, between two probed functions of one allocation
 * makes the inner hit count as a call of its own (rare, and only a count).
 */
struct alloc_call {
	__u32 tid;
	__u32 pad;
	__u64 ret;
	__u64 func_lo; /* entry */
	__u64 func_hi; /* end; 0 when the size is unknown */
};

#endif /* __MEMSIGHT_ALLOC_H */
