// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Function-entry probes and the prologue's stack check. Part of
 * memsight.bpf.c, after state.bpf.c.
 *
 * A Go function whose prologue finds its stack guard exceeded calls morestack
 * and is then restarted at its entry with the same arguments, so an entry
 * probe (or the prologue's conditional jump, which memsight prefers) fires
 * twice for one call. This happens when the stack must grow and, far more
 * often, when the goroutine is asked to stop for preemption or a GC stack
 * scan (stackguard0 = stackPreempt).
 *
 * morestack saves the return address of its call, an address inside the
 * function, in g.sched.pc, and gogo (which resumes the goroutine) leaves
 * sched.pc alone. So a hit is a re-execution when the same goroutine's
 * previous hit of this probe had the same argument registers and g.sched.pc
 * lies inside the probed function. Any park, preemption or stack growth
 * elsewhere moves sched.pc out of the function, and every stop-the-world
 * causes one, so a genuine call with repeated arguments is counted unless it
 * immediately follows a re-executed call with the same arguments (only a
 * no-op call, such as SetFinalizer(x, nil) twice, can do that).
 *
 * The function's bounds come with the BPF cookie (<memsight/cookie.h>), the
 * offset of sched.pc in runtime.g with the attachment's config (struct
 * binconfig); without either (size 0, offset unknown) no hit is filtered.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <memsight/events.h>
#include <memsight/goabi.h>
#include <memsight/maps.h>

/*
 * Reports whether this entry hit re-executes the previous one after the
 * prologue called morestack. nargs (2 or 4) is how many argument registers
 * the function takes: the others are not restored and must not be compared.
 */
static __always_inline bool entry_repeated(go_regs *ctx, __u64 cookie, const struct binconfig *c, __u32 tgid,
                                           __u32 probe, int nargs)
{
	__u64 size = cookie_func_size(cookie), entry = GO_IP(ctx) - cookie_entry_delta(cookie);
	struct entry_key k = { .g = GO_G(ctx), .tgid = tgid, .probe = probe };
	struct entry_args now = {
		.a1 = GO_ARG1(ctx),
		.a2 = GO_ARG2(ctx),
		.a3 = nargs > 2 ? GO_ARG3(ctx) : 0,
		.a4 = nargs > 3 ? GO_ARG4(ctx) : 0,
	};
	struct entry_args *last;
	bool repeated = false;
	__u64 sched_pc;

	if (!size || !k.g || !c || c->sched_pc_off <= 0 || c->sched_pc_off > G_FIELD_MAX)
		return false;
	last = bpf_map_lookup_elem(&entry_last, &k);
	if (last && last->a1 == now.a1 && last->a2 == now.a2 && last->a3 == now.a3 && last->a4 == now.a4 &&
	    !bpf_probe_read_user(&sched_pc, sizeof(sched_pc), (const void *)(k.g + (__u64)c->sched_pc_off)))
		repeated = sched_pc >= entry && sched_pc < entry + size;
	bpf_map_update_elem(&entry_last, &k, &now, BPF_ANY);
	return repeated;
}
