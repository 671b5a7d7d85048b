/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause */
/*
 * Arch-neutral stand-in for the uapi <asm/types.h>, so that <linux/bpf.h>
 * compiles for every bpf2go target (amd64 and arm64) without the multiarch
 * include directory (/usr/include/<triple>/) of that architecture.
 * BPF is a 64-bit target: the generic definitions are the right ones.
 */
#ifndef __MEMSIGHT_ASM_TYPES_H
#define __MEMSIGHT_ASM_TYPES_H
#include <asm-generic/types.h>
#endif
