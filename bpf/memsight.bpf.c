// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The one BPF object memsight loads (pkg/probe, via bpf2go), compiled as a
 * single unit: every map is in maps.bpf.c, the helpers the programs share in
 * state.bpf.c and entry.bpf.c, the programs split by concern into the other
 * files; include/memsight/ holds the declarations (records, enums, sizes).
 * bpf/tests/memsight_test.bpf.c includes this file to unit-test the programs.
 */
#include "maps.bpf.c"
#include "state.bpf.c"
#include "entry.bpf.c"
#include "finalizers.bpf.c"
#include "gc.bpf.c"
#include "process.bpf.c"
#include "alloc.bpf.c"

/* Types pkg/probe needs that no program references: keep them in the BTF for bpf2go -type. */
const enum event_kind *unused_event_kind __attribute__((unused));
const enum event_flag *unused_event_flag __attribute__((unused));
const enum stw_reason *unused_stw_reason __attribute__((unused));
const enum cleanup_mode *unused_cleanup_mode __attribute__((unused));
const enum binconfig_flag *unused_binconfig_flag __attribute__((unused));
const struct exit_event *unused_exit_event __attribute__((unused));
const enum alloc_size_mode *unused_alloc_size_mode __attribute__((unused));
const enum alloc_counter *unused_alloc_counter __attribute__((unused));
const enum limit *unused_limit __attribute__((unused));
const enum cookie_layout *unused_cookie_layout __attribute__((unused));

/* bpf_probe_read_user and bpf_get_attach_cookie need a GPL-compatible license. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
