/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause */
/* See types.h. */
#ifndef __MEMSIGHT_ASM_POSIX_TYPES_H
#define __MEMSIGHT_ASM_POSIX_TYPES_H
#include <asm-generic/posix_types.h>
#endif
