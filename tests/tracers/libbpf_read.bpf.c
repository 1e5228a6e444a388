/*
 * libbpf_read.bpf.c — the BPF half of tests/tracers/libbpf_read.c: a USDT
 * program in libbpf's own style (SEC("usdt"), <bpf/usdt.bpf.h>), so that
 * libbpf's argument-spec parser and its bpf_usdt_arg() are the oracle.
 * Attached once per probe with the probe's index as the USDT cookie; on
 * the first hit it stores the probe's argument count, every argument as
 * the 64-bit value bpf_usdt_arg() returns (extended by the spec's size and
 * sign), and the strings of the arguments the loader marked as strings.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#define MAX_PROBES 64
#define NARGS 12           /* libbpf's BPF_USDT_MAX_ARG_CNT */
#define STRLEN 32

struct ev {
	__u32 seen;
	__s32 argc;
	__u64 v[NARGS];
	char s[NARGS][STRLEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PROBES);
	__type(key, __u32);
	__type(value, struct ev);
} evs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);     /* bit i: argument i is a string */
} strmask SEC(".maps");

SEC("usdt")
int read_args(struct pt_regs *ctx)
{
	__u32 id = (__u32)bpf_usdt_cookie(ctx);
	struct ev *e = bpf_map_lookup_elem(&evs, &id);
	__u64 *mask = bpf_map_lookup_elem(&strmask, &id);
	if (e == NULL || mask == NULL || e->seen)
		return 0;
	e->argc = bpf_usdt_arg_cnt(ctx);
	for (int i = 0; i < NARGS; i++) {
		long val = 0;
		if (i >= e->argc)
			break;
		if (bpf_usdt_arg(ctx, i, &val) != 0)
			continue;
		e->v[i] = (__u64)val;
		if (*mask & (1ull << i))
			bpf_probe_read_user_str(e->s[i], STRLEN, (void *)val);
	}
	__sync_fetch_and_add(&e->seen, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
