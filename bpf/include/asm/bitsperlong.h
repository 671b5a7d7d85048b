/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause */
/* See types.h: BPF is a 64-bit target on every architecture. */
#ifndef __MEMSIGHT_ASM_BITSPERLONG_H
#define __MEMSIGHT_ASM_BITSPERLONG_H
#define __BITS_PER_LONG 64
#include <asm-generic/bitsperlong.h>
#endif
