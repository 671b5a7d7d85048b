/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A probe's 64-bit BPF cookie: pkg/probe packs it (cookie.go), state.bpf.c
 * decodes it, both from enum cookie_layout (bpf2go -type).
 *
 *   bits 0-15   every probe: an index, of the attachment's binconfigs entry
 *               (finalizer, cleanup and GC probes) or of the probe's
 *               alloc_hits slot (allocation probes)
 *   bits 16-31  function-entry probes: the probe's offset from the entry
 *   bits 16-23  allocation probes: enum alloc_size_mode, where the hit's
 *               byte count is
 *   bits 24-31  allocation probes: the probe's offset from the entry
 *   bits 32-63  entry and allocation probes: the function's size, 0 when
 *               unknown (no morestack filter, no bounds in alloc_call)
 *
 * Call-site probes (a runner's CALL and the instruction after it) carry the
 * index only.
 */
#ifndef __MEMSIGHT_COOKIE_H
#define __MEMSIGHT_COOKIE_H

enum cookie_layout {
	COOKIE_INDEX_BITS = 16,
	COOKIE_ENTRY_DELTA_SHIFT = 16,
	COOKIE_ENTRY_DELTA_BITS = 16,
	COOKIE_ALLOC_MODE_SHIFT = 16,
	COOKIE_ALLOC_MODE_BITS = 8,
	COOKIE_ALLOC_DELTA_SHIFT = 24,
	COOKIE_ALLOC_DELTA_BITS = 8,
	COOKIE_FUNC_SIZE_SHIFT = 32,
};

#endif /* __MEMSIGHT_COOKIE_H */
