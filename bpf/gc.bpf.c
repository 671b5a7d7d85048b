// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * GC cycles and stop-the-world pauses (a few probe hits per GC cycle, never
 * per allocation).
 * Registers: Go runtime mgc.go, mgcpacer.go and proc.go (1.20-1.27).
 * Part of memsight.bpf.c.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/events.h>
#include <memsight/goabi.h>
#include <memsight/maps.h>

/*
 * (*gcControllerState).startCycle(markStartTime, procs, trigger) entry: once
 * per cycle, in the sweep-termination stop-the-world. BX = markStartTime is
 * unique per cycle, so a morestack re-execution is dropped by comparing it.
 */
GO_UPROBE(gc_start_cycle)
{
	struct proc_state *p = proc_get(current_tgid());
	__u64 mark_start = GO_ARG2(ctx);

	if (!p)
		return 0;
	if (mark_start && mark_start == p->last_gc_start) {
		INC(p->entry_repeats);
		return 0;
	}
	p->last_gc_start = mark_start;
	INC(p->gc_cycles);
	return 0;
}

/* stopTheWorldWithSema(reason) entry, on g0. AX = reason (1.21+). */
GO_UPROBE(stw_stop)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	const struct binconfig *c;
	struct stw_stop s = {};

	if (!proc_get(id >> 32))
		return 0;
	c = config_get(cookie);
	s.ts_ns = bpf_ktime_get_ns();
	s.reason = c && c->go_minor >= 21 ? (__u8)GO_ARG1(ctx) : 0;
	bpf_map_update_elem(&stw_stops, &tid, &s, BPF_ANY);
	return 0;
}

/*
 * startTheWorldWithSema entry, on g0. Go 1.22+: AX = now, BX = reason,
 * CX = startedStopping (nanotime: CLOCK_MONOTONIC, like bpf_ktime_get_ns).
 * A restart with reason "GC mark termination" and now != 0 ends a GC cycle
 * (gcMarkDone's restart path passes now = 0 and loops).
 * Before 1.22 the pause is paired with this thread's stopTheWorldWithSema.
 */
GO_UPROBE(stw_start)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tid = (__u32)id;
	struct proc_state *p = proc_get(id >> 32);
	const struct binconfig *c;
	struct stw_stop *s;
	__u64 started = 0, go_now = 0, pause = 0;
	__u32 reason = 0;
	bool gc_end = false;
	struct event *e;

	if (!p)
		return 0;
	c = config_get(cookie);
	s = bpf_map_lookup_elem(&stw_stops, &tid);
	if (c && c->go_minor >= 22) {
		go_now = GO_ARG1(ctx);
		reason = (__u8)GO_ARG2(ctx);
		started = GO_ARG3(ctx);
		gc_end = reason == STW_GC_MARK_TERM && go_now != 0;
	} else if (s) {
		started = s->ts_ns;
		reason = s->reason;
	}
	if (s)
		bpf_map_delete_elem(&stw_stops, &tid);
	if (started && now > started)
		pause = now - started;

	INC(p->stw_count);
	ADD(p->stw_ns_total, pause);
	if (pause > p->stw_ns_max)
		p->stw_ns_max = pause; /* pauses of one process never overlap */
	if (reason == STW_GC_MARK_TERM || reason == STW_GC_SWEEP_TERM)
		ADD(p->stw_gc_ns_total, pause);
	if (gc_end) {
		INC(p->gc_ends);
		p->last_gc_end_ns = now;
	}

	e = event_reserve(EV_STW_END, gc_end ? EVF_GC_END : 0, now);
	if (!e)
		return 0;
	e->reason = reason;
	e->duration_ns = pause;
	e->arg = go_now;
	event_submit(e);
	return 0;
}
