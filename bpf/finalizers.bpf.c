// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Finalizers and cleanups: registered, queued, started, finished.
 *
 * Entry probes sit on runtime functions (at the point goexe's FuncProbe.Best
 * picks); start/end probes sit on the runner's CALL instruction and on the
 * instruction after it, never on a return (uretprobes crash Go programs).
 * Register and stack offsets are from the Go runtime (mfinal.go, mcleanup.go,
 * asm_*.s reflectcall) of Go 1.20-1.27 and were checked on real binaries.
 */
#include <memsight/entry.h>
#include <memsight/maps.h>

/* runtime.queuefinalizer(p, fn, nret, fint, ot) entry: a finalizer is queued during sweep. */
SEC("uprobe")
int queuefinalizer(go_regs *ctx)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;

	if (!p)
		return 0;
	if (entry_repeated(ctx, tgid, ENTRY_QUEUEFINALIZER, 4)) {
		INC(p->entry_repeats);
		return 0;
	}
	c = config_get(ctx);
	/* Go 1.24 queues cleanups on the finalizer queue, with p == nil. */
	if (c && c->cleanup_mode == CLEANUP_GO124 && GO_ARG1(ctx) == 0)
		INC(p->cleanup_queued);
	else
		INC(p->fin_queued);
	return 0;
}

/* runtime.SetFinalizer(obj, finalizer any) entry. SetFinalizer(obj, nil) counts too. */
SEC("uprobe")
int setfinalizer(go_regs *ctx)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);

	if (!p)
		return 0;
	if (entry_repeated(ctx, tgid, ENTRY_SETFINALIZER, 4)) {
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
SEC("uprobe")
int finalizer_start(go_regs *ctx)
{
	struct proc_state *p = proc_get(current_tgid());
	const struct binconfig *c;
	__u64 now = bpf_ktime_get_ns(), fv = 0, pc = 0, goid;
	struct event *e;

	if (!p)
		return 0;
	c = config_get(ctx);
	if (c) {
		fv = read_u64(p, GO_SP(ctx) + c->fv_sp_off);
		pc = fv ? read_u64(p, fv) : 0;
	}
	goid = current_goid(ctx, c, p);
	INC(p->fin_started);
	p->fin_cur_pc = pc;
	p->fin_cur_goid = goid;
	p->fin_cur_start_ns = now;

	e = event_reserve(EV_FIN_START, pc ? 0 : EVF_NO_PC, now);
	if (!e)
		return 0;
	e->pc = pc;
	e->goid = goid;
	e->arg = fv;
	event_submit(e);
	return 0;
}

/* The instruction after that CALL: the finalizer returned. */
SEC("uprobe")
int finalizer_end(go_regs *ctx)
{
	struct proc_state *p = proc_get(current_tgid());
	__u64 now = bpf_ktime_get_ns(), start, pc, goid;
	struct event *e;

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

	e = event_reserve(EV_FIN_END, start ? 0 : EVF_NO_START, now);
	if (!e)
		return 0;
	e->pc = pc;
	e->goid = goid;
	e->duration_ns = start && now > start ? now - start : 0;
	event_submit(e);
	return 0;
}

/* runtime.(*cleanupQueue).enqueue entry (Go 1.25+): one cleanup queued. */
SEC("uprobe")
int cleanup_enqueue(go_regs *ctx)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;
	int nargs;

	if (!p)
		return 0;
	/* 1.25: (q, fn) in AX, BX; 1.26+: (q, call, fn, arg) in AX..DI. */
	c = config_get(ctx);
	nargs = c && c->go_minor >= 26 ? 4 : 2;
	if (entry_repeated(ctx, tgid, ENTRY_CLEANUP_ENQUEUE, nargs)) {
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
SEC("uprobe")
int cleanup_start(go_regs *ctx)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;
	__u64 now = bpf_ktime_get_ns(), fv, pc, goid;
	struct run_key k;
	struct run r;
	struct event *e;

	if (!p)
		return 0;
	c = config_get(ctx);
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

	e = event_reserve(EV_CLEANUP_START, (pc ? 0 : EVF_NO_PC) | (k.by_tid ? EVF_BY_TID : 0), now);
	if (!e)
		return 0;
	e->pc = pc;
	e->goid = goid;
	e->arg = fv;
	event_submit(e);
	return 0;
}

/* The instruction after that CALL: the cleanup returned (R14 holds g again). */
SEC("uprobe")
int cleanup_end(go_regs *ctx)
{
	__u32 tgid = current_tgid();
	struct proc_state *p = proc_get(tgid);
	const struct binconfig *c;
	__u64 now = bpf_ktime_get_ns(), start = 0, pc = 0, goid;
	__u16 flags = 0;
	struct run_key k;
	struct run *r;
	struct event *e;

	if (!p)
		return 0;
	c = config_get(ctx);
	goid = current_goid(ctx, c, p);
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

	e = event_reserve(EV_CLEANUP_END, flags, now);
	if (!e)
		return 0;
	e->pc = pc;
	e->goid = goid;
	e->duration_ns = start && now > start ? now - start : 0;
	event_submit(e);
	return 0;
}
