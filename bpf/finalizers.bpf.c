// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Finalizers and cleanups: registered, queued, started, finished.
 *
 * Entry probes sit on runtime functions (at the point goexe's FuncProbe.Best
 * picks); start/end probes sit on the runner's CALL instruction and on the
 * instruction after it, never on a return (uretprobes crash Go programs).
 * Register and stack offsets are from the Go runtime (mfinal.go, mcleanup.go,
 * asm_*.s reflectcall) of Go 1.20-1.27 and were checked on real binaries.
 * Part of memsight.bpf.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/events.h>
#include <memsight/goabi.h>
#include <memsight/maps.h>

/*
 * Sends the record of a finalizer or cleanup call: a start (arg: its
 * *funcval, start: 0) or an end (arg: 0, start: when it started, 0 when no
 * start was recorded).
 */
static __always_inline void emit_call(__u16 kind, __u16 flags, __u64 now, __u64 pc, __u64 goid, __u64 arg, __u64 start)
{
	struct event *e = event_reserve(kind, flags, now);

	if (!e)
		return;
	e->pc = pc;
	e->goid = goid;
	e->arg = arg;
	e->duration_ns = start && now > start ? now - start : 0;
	event_submit(e);
}

/* runtime.queuefinalizer(p, fn, nret, fint, ot) entry: a finalizer is queued during sweep. */
GO_UPROBE(queuefinalizer)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;

	if (!p)
		return 0;
	c = config_get(cookie);
	if (entry_repeated(ctx, cookie, c, tgid, ENTRY_QUEUEFINALIZER, 4)) {
		INC(p->entry_repeats);
		return 0;
	}
	/* Go 1.24 queues cleanups on the finalizer queue, with p == nil. */
	if (c && c->cleanup_mode == CLEANUP_GO124 && GO_ARG1(ctx) == 0)
		INC(p->cleanup_queued);
	else
		INC(p->fin_queued);
	return 0;
}

/* runtime.SetFinalizer(obj, finalizer any) entry. SetFinalizer(obj, nil) counts too. */
GO_UPROBE(setfinalizer)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);

	if (!p)
		return 0;
	if (entry_repeated(ctx, cookie, config_get(cookie), tgid, ENTRY_SETFINALIZER, 4)) {
		INC(p->entry_repeats);
		return 0;
	}
	INC(p->fin_registered);
	return 0;
}

/*
 * At `CALL runtime.reflectcall` in runfinq/runFinalizers: an ABI0 call, so the
 * finalizer's *funcval is a stack argument (amd64 SP+8, arm64 SP+16), and its
 * first word is the function's PC. One finalizer goroutine per process: the
 * running finalizer lives in the process state.
 */
GO_UPROBE(finalizer_start)
{
	struct proc_state *p = proc_get(current_tgid());
	const struct binconfig *c;
	__u64 now = bpf_ktime_get_ns(), fv = 0, pc = 0, goid;

	if (!p)
		return 0;
	c = config_get(cookie);
	if (c) {
		fv = read_u64(p, GO_SP(ctx) + c->fv_sp_off);
		pc = fv ? read_u64(p, fv) : 0;
	}
	goid = current_goid(ctx, c, p);
	INC(p->fin_started);
	p->fin_cur_pc = pc;
	p->fin_cur_goid = goid;
	p->fin_cur_start_ns = now;
	emit_call(EV_FIN_START, pc ? 0 : EVF_NO_PC, now, pc, goid, fv, 0);
	return 0;
}

/* The instruction after that CALL: the finalizer returned. */
GO_UPROBE(finalizer_end)
{
	struct proc_state *p = proc_get(current_tgid());
	__u64 now = bpf_ktime_get_ns(), start, pc, goid;

	if (!p)
		return 0;
	start = p->fin_cur_start_ns;
	pc = p->fin_cur_pc;
	goid = p->fin_cur_goid;
	p->fin_cur_start_ns = 0;
	p->fin_cur_pc = 0;
	p->fin_cur_goid = 0;
	INC(p->fin_finished);
	if (!start)
		INC(p->unpaired_ends);
	emit_call(EV_FIN_END, start ? 0 : EVF_NO_START, now, pc, goid, 0, start);
	return 0;
}

/* runtime.(*cleanupQueue).enqueue entry (Go 1.25+): one cleanup queued. */
GO_UPROBE(cleanup_enqueue)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;
	int nargs;

	if (!p)
		return 0;
	/* 1.25: (q, fn) in AX, BX; 1.26+: (q, call, fn, arg) in AX..DI. */
	c = config_get(cookie);
	nargs = c && c->go_minor >= 26 ? 4 : 2;
	if (entry_repeated(ctx, cookie, c, tgid, ENTRY_CLEANUP_ENQUEUE, nargs)) {
		INC(p->entry_repeats);
		return 0;
	}
	INC(p->cleanup_queued);
	return 0;
}

/* The cleanup's function PC at the runner's indirect CALL, per Go version. */
static __always_inline __u64 cleanup_pc(go_regs *ctx, const struct binconfig *c, struct proc_state *p, __u64 *fv)
{
	__u64 a;

	*fv = 0;
	if (!c)
		return 0;
	switch (c->cleanup_mode) {
	case CLEANUP_GO126: /* AX = the cleanup's *funcval */
		*fv = GO_ARG1(ctx);
		return read_u64(p, *fv);
	case CLEANUP_GO125: /* DX = func(){ cleanup(arg) }, capturing &cleanup */
		*fv = GO_CTXT(ctx);
		a = read_u64(p, *fv + 8);
		a = a ? read_u64(p, a) : 0;
		return a ? read_u64(p, a) : 0;
	case CLEANUP_GO124: /* DX = func(){ cleanup(arg) }, capturing cleanup */
		*fv = GO_CTXT(ctx);
		a = read_u64(p, *fv + 8);
		return a ? read_u64(p, a) : 0;
	}
	return 0;
}

/* The running cleanup's key: the goroutine, or the thread when goid is unknown. */
static __always_inline struct run_key run_key_of(__u32 tgid, __u64 goid)
{
	struct run_key k = { .tgid = tgid, .by_tid = 0, .id = goid };

	if (!goid) {
		k.by_tid = 1;
		k.id = (__u32)bpf_get_current_pid_tgid();
	}
	return k;
}

/* The runner's indirect CALL of a cleanup (runfinq in 1.24, runCleanups in 1.25+). */
GO_UPROBE(cleanup_start)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;
	__u64 now = bpf_ktime_get_ns(), fv, pc, goid;
	struct run_key k;
	struct run r;

	if (!p)
		return 0;
	c = config_get(cookie);
	pc = cleanup_pc(ctx, c, p, &fv);
	goid = current_goid(ctx, c, p);
	k = run_key_of(tgid, goid);
	r.start_ns = now;
	r.pc = pc;
	r.goid = goid;
	/* An existing entry means its end was missed: replace it, keep the count. */
	if (bpf_map_update_elem(&cleanup_runs, &k, &r, BPF_NOEXIST) == 0)
		INC(p->cleanups_running);
	else
		bpf_map_update_elem(&cleanup_runs, &k, &r, BPF_ANY);
	INC(p->cleanup_started);
	emit_call(EV_CLEANUP_START, (pc ? 0 : EVF_NO_PC) | (k.by_tid ? EVF_BY_TID : 0), now, pc, goid, fv, 0);
	return 0;
}

/* The instruction after that CALL: the cleanup returned (R14 holds g again). */
GO_UPROBE(cleanup_end)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	__u64 now = bpf_ktime_get_ns(), start = 0, pc = 0, goid;
	__u16 flags = 0;
	struct run_key k;
	struct run *r;

	if (!p)
		return 0;
	goid = current_goid(ctx, config_get(cookie), p);
	k = run_key_of(tgid, goid);
	if (k.by_tid)
		flags |= EVF_BY_TID;
	r = bpf_map_lookup_elem(&cleanup_runs, &k);
	if (r) {
		start = r->start_ns;
		pc = r->pc;
		if (bpf_map_delete_elem(&cleanup_runs, &k) == 0)
			ADD(p->cleanups_running, -1);
	} else {
		INC(p->unpaired_ends);
		flags |= EVF_NO_START;
	}
	INC(p->cleanup_finished);
	emit_call(EV_CLEANUP_END, flags, now, pc, goid, 0, start);
	return 0;
}
