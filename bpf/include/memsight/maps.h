/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sizes of the maps (defined in maps.bpf.c) and the records of the maps
 * only the BPF side reads. enum limit is exported to pkg/probe (bpf2go
 * -type), which sizes its slot tables from it; pkg/probe's TestContract
 * checks every map of the object against it.
 */
#ifndef __MEMSIGHT_MAPS_H
#define __MEMSIGHT_MAPS_H

#include <linux/types.h>

enum limit {
	MAX_PROCS = 16384,       /* watched, procs: watched processes */
	MAX_BINCONFIGS = 1024,   /* binconfigs: attachments at a time, plus the unused slot 0 */
	MAX_RUNS = 16384,        /* cleanup_runs: cleanups running at a time */
	MAX_ENTRY_LAST = 16384,  /* entry_last: (process, goroutine, probe), least recently used out */
	MAX_STW_STOPS = 1024,    /* stw_stops: threads stopping the world */
	RINGBUF_BYTES = 1 << 20, /* events */
	ALLOC_MAX_SITES = 16384, /* alloc_sites: (process, stack) */
	ALLOC_MAX_SLOTS = 1024,  /* alloc_hits: allocation probes attached at a time */
	ALLOC_NUM_CLASSES = 68,  /* alloc_span_bytes: size classes of the Go heap (_NumSizeClasses, 1.20-1.27) */
	ALLOC_MAX_FRAMES = 32,   /* alloc_site.pcs: the probed function, its caller, 30 more */
};

/* Function-entry probes with the morestack filter (entry.bpf.c). */
enum entry_probe {
	ENTRY_QUEUEFINALIZER = 1,
	ENTRY_SETFINALIZER = 2,
	ENTRY_CLEANUP_ENQUEUE = 3,
};

/* entry_last: the last hit per (process, goroutine, probe). */
struct entry_key {
	__u64 g;
	__u32 tgid;
	__u32 probe; /* enum entry_probe */
};

struct entry_args {
	__u64 a1, a2, a3, a4;
};

/* stw_stops: a thread's stopTheWorldWithSema hit. */
struct stw_stop {
	__u64 ts_ns;
	__u32 reason; /* enum stw_reason */
	__u32 pad;
};

#endif /* __MEMSIGHT_MAPS_H */
