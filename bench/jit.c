/*
 * jit.c — the untraced cost of a probe check that a JIT inlines with the
 * addresses usdt_vm_probe_info() gives (usdt_vm.h), against the same check
 * compiled in with <sys/sdt.h>, measured in the same run:
 *   semaphore  `for (i < n) if (sem) DTRACE_PROBE2(...)`, compiled by the C
 *              compiler (one load and a branch per iteration)
 *   jit        the same loop emitted at run time by tests/progs/jit_x86_64.h:
 *              `if (*semaphore || *site != idle) call site` with both
 *              addresses as immediates (two loads, two branches)
 * Target (issue 14): jit <= 1.2x semaphore. The traced side (a JIT calling
 * the site with bpftrace attached, against a compiled-in site) is in
 * traced.c. x86_64 only: the test JIT emits x86_64 code.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include <stdint.h>

#include "bench.h"
#include "usdt.h"
#include "usdt_vm.h"

#ifdef __x86_64__
#include "../tests/progs/jit.h"

__extension__ volatile unsigned short bench_jit_sema_semaphore __attribute__((unused, section(".probes")));

static __attribute__((noinline)) double run_sem(long n)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		if (__builtin_expect(bench_jit_sema_semaphore, 0))
			DTRACE_PROBE2(bench_jit, sema, i, 7);
	return (bench_now_ns() - t0) / (double)n;
}

enum { J_BOTH, J_SITE, J_SEM, J_N };
static const struct {
	const char *name;
	int checks;
} jits[J_N] = {
	[J_BOTH] = { "JIT-inlined semaphore + site-byte check", JIT_CHECK_SEM | JIT_CHECK_SITE },
	[J_SITE] = { "JIT-inlined site-byte check", JIT_CHECK_SITE },
	[J_SEM] = { "JIT-inlined semaphore check", JIT_CHECK_SEM },
};
static void (*jit_loop[J_N])(uint64_t);

static __attribute__((noinline)) double run_jit(int j, long n)
{
	double t0 = bench_now_ns();
	jit_loop[j]((uint64_t)n);
	return (bench_now_ns() - t0) / (double)n;
}

int main(void)
{
	static const char *const types[2] = { "long", "int" };
	int runs = bench_runs();
	long iters = bench_smoke() ? 500000 : 50000000;
	int cpu = bench_pin();

	usdt_provider_t *prov = usdt_create_provider("benchjit", "bench");
	usdt_probedef_t *pd = usdt_create_probe("bench", "loop", 2, (const char **)types);
	usdt_vm_client_t *client = usdt_vm_client_create(NULL, NULL);
	usdt_vm_probe_t info;
	struct jit_buf code;
	if (prov == NULL || pd == NULL || client == NULL || usdt_provider_add_probe(prov, pd) != 0 ||
	    usdt_provider_enable(prov) != 0 || usdt_vm_probe_info(client, pd, &info) != 1 || jit_open(&code) != 0) {
		fprintf(stderr, "jit: %s\n", prov != NULL ? usdt_errstr(prov) : usdt_last_errstr());
		return 1;
	}
	for (int j = 0; j < J_N; j++) {
		code.n = (code.n + 63) & ~(size_t)63;
		jit_loop[j] = (void (*)(uint64_t))(void *)(code.p + code.n);
		jit_emit_loop(&code, &info, jits[j].checks);
	}
	if (jit_seal(&code) != 0) {
		perror("jit: mprotect");
		return 1;
	}

	bench_header("a JIT's inlined probe check (usdt_vm.h), untraced");
	printf("# %d runs x %ld iterations per case, pinned to CPU %d\n", runs, iters, cpu);
	run_sem(iters / 10);
	for (int j = 0; j < J_N; j++)
		run_jit(j, iters / 10);
	double sem[BENCH_MAX_RUNS], jit[J_N][BENCH_MAX_RUNS], ratio[J_N][BENCH_MAX_RUNS];
	for (int r = 0; r < runs; r++) {
		sem[r] = run_sem(iters);
		for (int j = 0; j < J_N; j++) {
			jit[j][r] = run_jit(j, iters);
			ratio[j][r] = jit[j][r] / sem[r];
		}
	}
	bench_row("jit", "compiled-in semaphore-guarded site (loop)", bench_median(sem, runs), "ns", -1, "", "", "");
	for (int j = 0; j < J_N; j++) {
		double rj = bench_median(ratio[j], runs);
		/* the target is on the check usdt_vm.h recommends: the site byte */
		bench_row("jit", jits[j].name, bench_median(jit[j], runs), "ns", rj, "semaphore",
		          j == J_SITE ? "<= 1.2x" : "", bench_status(j == J_SITE, rj <= 1.2));
	}
	munmap(code.p, JIT_CODE_SIZE);
	usdt_vm_client_free(client);
	usdt_provider_free(prov);
	usdt_probe_release(pd);
	return 0;
}
#else
int main(void)
{
	printf("jit: SKIP: the benchmark's JIT emits x86_64 code only\n");
	return 77;
}
#endif
