/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Go's register ABI (ABIInternal) as seen from a uprobe. The register file is
 * the kernel's user-visible layout (uapi asm/ptrace.h: struct pt_regs on
 * x86-64, struct user_pt_regs on arm64), declared here so that one object per
 * architecture builds without that architecture's kernel headers.
 *
 *   Go amd64   arm64   meaning
 *   AX         R0      argument 1 / result 1
 *   BX         R1      argument 2
 *   CX         R2      argument 3
 *   DI         R3      argument 4
 *   DX         R26     closure context (the called *funcval)
 *   R14        R28     current g
 */
#ifndef __MEMSIGHT_GOABI_H
#define __MEMSIGHT_GOABI_H

#include <linux/types.h>

#if defined(__TARGET_ARCH_x86)

struct pt_regs {
	unsigned long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	unsigned long rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
};
typedef struct pt_regs go_regs;

#define GO_ARG1(r) ((r)->rax)
#define GO_ARG2(r) ((r)->rbx)
#define GO_ARG3(r) ((r)->rcx)
#define GO_ARG4(r) ((r)->rdi)
#define GO_CTXT(r) ((r)->rdx)
#define GO_G(r) ((r)->r14)
#define GO_SP(r) ((r)->rsp)
#define GO_IP(r) ((r)->rip) /* the probed instruction */
#define GO_FP(r) ((r)->rbp) /* frame pointer: [FP] = caller's FP, [FP+8] = return address */

#elif defined(__TARGET_ARCH_arm64)

struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
typedef struct user_pt_regs go_regs;

#define GO_ARG1(r) ((r)->regs[0])
#define GO_ARG2(r) ((r)->regs[1])
#define GO_ARG3(r) ((r)->regs[2])
#define GO_ARG4(r) ((r)->regs[3])
#define GO_CTXT(r) ((r)->regs[26])
#define GO_G(r) ((r)->regs[28])
#define GO_SP(r) ((r)->sp)
#define GO_IP(r) ((r)->pc)
#define GO_FP(r) ((r)->regs[29]) /* frame pointer, laid out as on amd64 */
#define GO_LR(r) ((r)->regs[30]) /* link register */

#else
#error "memsight: unsupported target architecture (bpf2go -target amd64 or arm64)"
#endif

/*
 * Offsets inside runtime.g (goid, sched.pc) are not constants here: they come
 * from the binary's layout (pkg/goexe) with the per-binary config, struct
 * binconfig in <memsight/events.h>.
 */

#endif /* __MEMSIGHT_GOABI_H */
