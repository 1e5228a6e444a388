/*
 * peer/libstapsdt.c — the libstapsdt comparison row, built and run by
 * bench/run.sh only when LIBSTAPSDT_DIR points at a checkout of
 * https://github.com/linux-usdt/libstapsdt built there with `make` (its
 * code is never copied into this tree). Same method as untraced.c and
 * lifecycle.c: untraced probeFire() with 2 arguments against a compiled-in
 * DTRACE_PROBE2 site called through a non-inlined function, and the load
 * (providerLoad) of providers with 1 and 1000 probes, medians over the
 * runs. Kept out of bench/ itself: `make bench` must build without libstapsdt.
 */
#define _GNU_SOURCE 1   /* sched_setaffinity in bench.h */
#include <sys/sdt.h>

#include <libstapsdt.h>

#include "bench.h"

void peer_sdt2(long a, long b);
BENCH_NOINLINE void peer_sdt2(long a, long b)
{
	DTRACE_PROBE2(bench_peer, site2, a, b);
}

static BENCH_NOINLINE double run_sdt2(long n)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		peer_sdt2(i, n);
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double run_fire2(SDTProbe_t *p, long n)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		probeFire(p, i, n);
	return (bench_now_ns() - t0) / (double)n;
}

static double load_us(int nprobes, int *ok)
{
	SDTProvider_t *p = providerInit("peerlc");
	for (int i = 0; i < nprobes; i++) {
		char name[32];
		snprintf(name, sizeof name, "p%d", i);
		providerAddProbe(p, name, 2, int64, int64);
	}
	double t0 = bench_now_ns();
	*ok = providerLoad(p) == 0;
	double t = (bench_now_ns() - t0) / 1e3;
	providerUnload(p);
	providerDestroy(p);
	return t;
}

int main(void)
{
	int runs = bench_runs(), ok = 1;
	long iters = bench_smoke() ? 500000 : 20000000;
	int cpu = bench_pin();
	SDTProvider_t *prov = providerInit("benchpeer");
	SDTProbe_t *probe = providerAddProbe(prov, "f2", 2, int64, int64);
	if (probe == NULL || providerLoad(prov) != 0) {
		fprintf(stderr, "libstapsdt: load failed: %s\n", prov->error ? prov->error : "?");
		return 1;
	}
	bench_header("libstapsdt (linux-usdt/libstapsdt, built outside the tree)");
	printf("# %d runs, pinned to CPU %d\n", runs, cpu);
	double sdt[BENCH_MAX_RUNS], fire[BENCH_MAX_RUNS], ratio[BENCH_MAX_RUNS];
	run_sdt2(iters / 10);
	run_fire2(probe, iters / 10);
	for (int r = 0; r < runs; r++) {
		sdt[r] = run_sdt2(iters);
		fire[r] = run_fire2(probe, iters);
		ratio[r] = fire[r] / sdt[r];
	}
	bench_row("libstapsdt", "compiled-in DTRACE_PROBE2 site (called)", bench_median(sdt, runs), "ns", -1, "", "", "");
	double rat = bench_median(ratio, runs);
	bench_row("libstapsdt", "probeFire, 2 args, untraced", bench_median(fire, runs), "ns", rat,
	          "compiled-in DTRACE_PROBE2 site (called)", "", "");
	providerUnload(prov);
	providerDestroy(prov);

	static const int sizes[] = { 1, 1000 };
	for (int s = 0; s < 2; s++) {
		double t[BENCH_MAX_RUNS];
		for (int r = 0; r < runs; r++)
			t[r] = load_us(sizes[s], &ok);
		char name[64];
		snprintf(name, sizeof name, "providerLoad, %d probes", sizes[s]);
		bench_row("libstapsdt", name, bench_median(t, runs), "us", -1, "", "", "");
	}
	return ok ? 0 : 1;
}
