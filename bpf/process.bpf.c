// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Process lifecycle, from raw tracepoints (they need no tracefs): forgetting
 * a watched process when it exits, and reporting every exec of the machine so
 * that the agent inspects new programs at once instead of waiting for its
 * next /proc rescan. Part of memsight.bpf.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/events.h>
#include <memsight/maps.h>

static long drop_run(void *map, struct run_key *k, struct run *r, __u32 *tgid)
{
	if (k->tgid == *tgid)
		bpf_map_delete_elem(map, k);
	return 0;
}

/*
 * sched_process_exit. When a watched
 * process's main thread exits, report its last counters and forget it, so no
 * stale in-flight state survives and a reused PID starts unwatched.
 */
SEC("raw_tracepoint/sched_process_exit")
int process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct proc_state *p;
	struct exit_event *e;

	if ((__u32)id != tgid || !bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->ev.kind = EV_EXIT;
		e->ev.tgid = tgid;
		e->ev.tid = tgid;
		e->ev.ts_ns = bpf_ktime_get_ns();
		p = bpf_map_lookup_elem(&procs, &tgid);
		if (p)
			e->state = *p;
		event_submit(e);
	} else {
		count_drop();
	}
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&watched, &tgid);
	bpf_for_each_map_elem(&cleanup_runs, drop_run, &tgid, 0);
	return 0;
}

/*
 * sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
 * (raw tracepoint), after a successful exec, on the exec'ing task, which is
 * the thread group leader by then. Every exec of the machine is reported,
 * watched or not: a few per second on a busy node. tgid is the process,
 * tid the thread that called exec (old_pid: a non-leader thread's exec takes
 * over the leader's PID). The reader is woken for each one (unlike the probes'
 * events, see event_submit): a wakeup costs microseconds, an exec far more,
 * and the agent attaches to a new program sooner.
 */
SEC("raw_tracepoint/sched_process_exec")
int process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct event *e = event_reserve(EV_EXEC, 0, bpf_ktime_get_ns());

	if (!e)
		return 0;
	e->tid = (__u32)ctx->args[1];
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
