/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Records shared between the BPF programs and pkg/probe. bpf2go generates the
 * Go declarations from these (-type), so every struct here is naturally
 * aligned, has explicit padding and is compiled with -Wpadded -Werror.
 */
#ifndef __MEMSIGHT_EVENTS_H
#define __MEMSIGHT_EVENTS_H

#include <linux/types.h>

/* Kinds of ring-buffer records. */
enum event_kind {
	EV_FIN_START = 1,     /* a finalizer is called (pc = its function) */
	EV_FIN_END = 2,       /* that finalizer returned (duration_ns) */
	EV_CLEANUP_START = 3, /* a cleanup (runtime.AddCleanup) is called */
	EV_CLEANUP_END = 4,   /* that cleanup returned */
	EV_STW_END = 5,       /* the world restarts after a stop-the-world */
	EV_EXIT = 6,          /* a watched process exited: struct exit_event */
	EV_EXEC = 7,          /* any process exec'd (tid: the thread that called exec) */
};

/* event.flags bits. */
enum event_flag {
	EVF_GC_END = 1,   /* EV_STW_END: this restart ended a GC cycle */
	EVF_NO_START = 2, /* *_END: no start was recorded (attached mid-call) */
	EVF_BY_TID = 4,   /* cleanup start/end paired by thread: goid unknown */
	EVF_NO_PC = 8,    /* *_START: the function's PC could not be read */
};

/* Go's stwReason values (runtime/proc.go, 1.21+) that belong to the GC. */
enum stw_reason {
	STW_GC_MARK_TERM = 1,  /* GC mark termination */
	STW_GC_SWEEP_TERM = 2, /* GC sweep termination */
};

/* Every ring-buffer record starts with this; kind comes first. */
struct event {
	__u16 kind;        /* enum event_kind */
	__u16 flags;       /* enum event_flag */
	__u32 reason;      /* EV_STW_END: Go's stwReason (enum stw_reason) */
	__u32 tgid;        /* process (init PID namespace) */
	__u32 tid;         /* thread that hit the probe */
	__u64 ts_ns;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 pc;          /* entry PC of the finalizer/cleanup function, as mapped in the process */
	__u64 goid;        /* goroutine ID, 0 when unknown */
	__u64 duration_ns; /* *_END: since the start; EV_STW_END: pause from startedStopping */
	__u64 arg;         /* *_START: the *funcval; EV_STW_END: Go's `now` argument */
};

/*
 * Per-process counters and in-flight state, one entry per watched tgid.
 * Counts start when memsight starts watching, not at process start.
 */
struct proc_state {
	__u64 fin_registered;   /* runtime.SetFinalizer calls, including SetFinalizer(x, nil) */
	__u64 fin_queued;       /* runtime.queuefinalizer calls for finalizers */
	__u64 fin_started;      /* finalizer calls (CALL reflectcall in the runner) */
	__u64 fin_finished;     /* finalizer returns (includes EVF_NO_START ones) */
	__u64 cleanup_queued;   /* cleanups queued (enqueue; Go 1.24: queuefinalizer(nil, ...)) */
	__u64 cleanup_started;  /* cleanup calls */
	__u64 cleanup_finished; /* cleanup returns (includes EVF_NO_START ones) */
	__u64 cleanups_running; /* cleanups started and not yet returned */
	__u64 gc_cycles;        /* GC cycles started ((*gcControllerState).startCycle) */
	__u64 gc_ends;          /* GC cycles ended (mark-termination world restart, Go 1.22+) */
	__u64 stw_count;        /* stop-the-world pauses ended */
	__u64 stw_ns_total;     /* their total pause */
	__u64 stw_ns_max;       /* the longest pause */
	__u64 stw_gc_ns_total;  /* pause of the GC ones (reasons 1 and 2) */
	__u64 unpaired_ends;    /* end probes without a recorded start */
	__u64 entry_repeats;    /* entry hits dropped as morestack re-executions */
	__u64 read_errors;      /* failed user-memory reads (PC or goid left 0) */
	__u64 fin_cur_start_ns; /* the running finalizer's start, 0 when none runs */
	__u64 fin_cur_pc;       /* its function's PC */
	__u64 fin_cur_goid;     /* the finalizer goroutine */
	__u64 last_gc_start;    /* Go's markStartTime of the last cycle (nanotime) */
	__u64 last_gc_end_ns;   /* bpf_ktime_get_ns() at the last GC end */
};

/* EV_EXIT record: the process's last counters. */
struct exit_event {
	struct event ev;
	struct proc_state state;
};

/* How a cleanup's function is found at the runner's indirect CALL. */
enum cleanup_mode {
	CLEANUP_NONE = 0,  /* Go < 1.24: no cleanups */
	CLEANUP_GO124 = 1, /* runfinq: DX = wrapper closure, fn code = **(DX+8); queuefinalizer(nil) = cleanup */
	CLEANUP_GO125 = 2, /* runCleanups: DX = wrapper closure, fn code = ***(DX+8) */
	CLEANUP_GO126 = 3, /* runCleanups: AX = the cleanup's *funcval, fn code = *AX */
};

enum binconfig_flag {
	CFG_VALID = 1,
};

/*
 * Per-attachment configuration, indexed by the BPF cookie of every probe of
 * that attachment (an index into the binconfigs array): what pkg/probe knows
 * of the binary, its runtime.g offsets from pkg/goexe's layout (DWARF, else
 * the per-version table).
 */
struct binconfig {
	__s64 goid_off;     /* offset of goid in runtime.g; < 0 when unknown */
	__s64 sched_pc_off; /* offset of sched.pc in runtime.g; < 0 when unknown (see entry.bpf.c) */
	__u32 fv_sp_off;    /* *funcval at SP+this at the CALL reflectcall (amd64 8, arm64 16) */
	__u32 go_minor;     /* Go 1.x minor version of the binary */
	__u32 cleanup_mode; /* enum cleanup_mode */
	__u32 flags;        /* enum binconfig_flag */
};

/* A running cleanup, keyed by goroutine (or by thread when goid is unknown). */
struct run_key {
	__u32 tgid;
	__u32 by_tid; /* 1: id is a thread ID */
	__u64 id;     /* goid, or tid */
};

struct run {
	__u64 start_ns;
	__u64 pc;
	__u64 goid;
};

#endif /* __MEMSIGHT_EVENTS_H */
