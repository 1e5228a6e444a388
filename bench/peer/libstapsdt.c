/*
 * peer/libstapsdt.c — the libstapsdt comparison (issue 13 target 7), built
 * and run by bench/run.sh only when LIBSTAPSDT_DIR points at a checkout of
 * https://github.com/linux-usdt/libstapsdt built there with `make` (its
 * code is never copied into this tree; `make bench` builds without it).
 *
 * Both libraries are reached the way their users reach them: libstapsdt
 * through its shared library (out/libstapsdt.so.0; bench/run.sh falls back
 * to out/libstapsdt.a, and says so, only when there is none) and libusdt
 * through $BUILD/libusdt.so, each called through the PLT, in the same
 * process and the same runs, pinned to one CPU. Each figure is the median
 * over the runs (BENCH_RUNS) of ns per iteration, and each ratio the median
 * of the ratios taken within a run:
 *   sdt2      a compiled-in DTRACE_PROBE2 site in a non-inlined function
 *   libcall   an empty function exported by libbenchlib.so with the same
 *             two arguments: the floor of any call into a library
 *   fire      untraced usdt_fire_probe(p, 2, argv) / probeFire(p, i, n)
 *   guard     `if (usdt_is_enabled(p)) fire` / `if (probeIsEnabled(p))
 *             fire`, against `if (libfunc(p)) ...` from libbenchlib.so
 *   enable    usdt_provider_enable() / providerLoad() of a new provider
 *             with 1 and 1000 two-argument probes (creation not timed),
 *             and the disable / providerUnload() that follows
 *   traced    with bpftrace attached to both probes (count()): ns per fire
 *             (root and bpftrace needed; skipped with a note otherwise)
 */
#define _GNU_SOURCE 1   /* sched_setaffinity in bench.h */
#include <sys/sdt.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libstapsdt.h>

#include "bench.h"
#include "bench_bpftrace.h"
#include "usdt.h"

#ifndef STAP_LINK
#define STAP_LINK "shared"
#endif

void peer_sdt2(long a, long b);
void bench_lib_empty2(long a, long b);      /* libbenchlib.so */
int bench_lib_empty1(void *p);

BENCH_NOINLINE void peer_sdt2(long a, long b)
{
	DTRACE_PROBE2(bench_peer, site2, a, b);
}

static usdt_probe_t *up;      /* libusdt's probe benchpu:f2 */
static SDTProbe_t *sp;        /* libstapsdt's probe benchps:f2 */


static BENCH_NOINLINE double run_sdt2(long n, void *x)
{
	LOOP(n, peer_sdt2(i, (long)x));
}

static BENCH_NOINLINE double run_libcall(long n, void *x)
{
	LOOP(n, bench_lib_empty2(i, (long)x));
}

static BENCH_NOINLINE double run_libcall1(long n, void *x)
{
	LOOP(n, if (bench_lib_empty1(x)) bench_lib_empty2(i, (long)x));
}

static BENCH_NOINLINE double run_usdt_fire(long n, void *x)
{
	usdt_probe_t *p = up;
	LOOP(n, void *argv[2] = { (void *)i, x }; usdt_fire_probe(p, 2, argv));
}

static BENCH_NOINLINE double run_stap_fire(long n, void *x)
{
	SDTProbe_t *p = sp;
	LOOP(n, probeFire(p, i, (long)x));
}

static BENCH_NOINLINE double run_usdt_guard(long n, void *x)
{
	usdt_probe_t *p = up;
	LOOP(n, if (usdt_is_enabled(p)) {
		void *argv[2] = { (void *)i, x };
		usdt_fire_probe(p, 2, argv);
	});
}

static BENCH_NOINLINE double run_stap_guard(long n, void *x)
{
	SDTProbe_t *p = sp;
	LOOP(n, if (probeIsEnabled(p)) probeFire(p, i, (long)x));
}

enum { C_SDT2, C_LIBCALL, C_LIBCALL1, C_UFIRE, C_SFIRE, C_UGUARD, C_SGUARD, C_N };
static double (*const runners[C_N])(long, void *) = {
	run_sdt2, run_libcall, run_libcall1, run_usdt_fire, run_stap_fire, run_usdt_guard, run_stap_guard,
};

/* ---- enable / load */

static const char *const types2[2] = { "long", "long" };

static int usdt_enable_us(int nprobes, double *en, double *dis)
{
	usdt_provider_t *p = usdt_create_provider("benchpl", "peer");
	if (p == NULL)
		return -1;
	for (int i = 0; i < nprobes; i++) {
		char name[32];
		snprintf(name, sizeof name, "p%d", i);
		usdt_probedef_t *pd = usdt_create_probe("peer", name, 2, (const char **)types2);
		if (pd == NULL || usdt_provider_add_probe(p, pd) != 0)
			return -1;
		usdt_probe_release(pd);
	}
	double t0 = bench_now_ns();
	int rc = usdt_provider_enable(p);
	double t1 = bench_now_ns();
	usdt_provider_disable(p);
	double t2 = bench_now_ns();
	usdt_provider_free(p);
	*en = (t1 - t0) / 1e3;
	*dis = (t2 - t1) / 1e3;
	return rc;
}

static int stap_load_us(int nprobes, double *en, double *dis)
{
	SDTProvider_t *p = providerInit("benchpl");
	if (p == NULL)
		return -1;
	for (int i = 0; i < nprobes; i++) {
		char name[32];
		snprintf(name, sizeof name, "p%d", i);
		if (providerAddProbe(p, name, 2, int64, int64) == NULL)
			return -1;
	}
	double t0 = bench_now_ns();
	int rc = providerLoad(p);
	double t1 = bench_now_ns();
	providerUnload(p);
	double t2 = bench_now_ns();
	providerDestroy(p);
	*en = (t1 - t0) / 1e3;
	*dis = (t2 - t1) / 1e3;
	return rc;
}

/* ---- traced: bpftrace attached to both probes */

static struct bench_bt bt = { -1, "" };

static BENCH_NOINLINE double traced_usdt(long n)
{
	usdt_probe_t *p = up;
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		void *argv[2] = { (void *)i, (void *)n };
		usdt_fire_probe(p, 2, argv);
	}
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double traced_stap(long n)
{
	SDTProbe_t *p = sp;
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		probeFire(p, i, n);
	return (bench_now_ns() - t0) / (double)n;
}

/* 0 done, 77 skipped (why printed), 1 error */
static int traced_part(int runs)
{
	const char *bpftrace = getenv("BPFTRACE") != NULL ? getenv("BPFTRACE") : "bpftrace";
	char which[300];
	if (geteuid() != 0) {
		printf("libstapsdt: NOTE: traced rows skipped: bpftrace needs root\n");
		return 77;
	}
	snprintf(which, sizeof which, "command -v %s >/dev/null 2>&1", bpftrace);
	if (system(which) != 0) {
		printf("libstapsdt: NOTE: traced rows skipped: %s is not installed\n", bpftrace);
		return 77;
	}
	if (bench_bt_start(&bt, bpftrace, "usdt:*:benchpu:f2 { @usdt = count(); } usdt:*:benchps:f2 { @stap = count(); }",
	                   "peer") != 0)
		return 1;
	double t0 = bench_now_ns();
	while (!(usdt_is_enabled(up) && probeIsEnabled(sp))) {
		if (bench_bt_exited(&bt) || bench_now_ns() - t0 > 120e9) {
			fprintf(stderr, "libstapsdt: bpftrace did not attach to both probes (usdt %d, libstapsdt %d)\n",
			        usdt_is_enabled(up), probeIsEnabled(sp));
			bench_bt_stop(&bt);
			bench_bt_dump(&bt);
			return 1;
		}
		usleep(20000);
	}
	long n = bench_smoke() ? 20000 : (long)(200000 * (getenv("BENCH_SCALE") ? atof(getenv("BENCH_SCALE")) : 1.0));
	if (n < 1000)
		n = 1000;
	traced_usdt(100);     /* first hits (the kernel may optimise a site) */
	traced_stap(100);
	double u[BENCH_MAX_RUNS], s[BENCH_MAX_RUNS], r[BENCH_MAX_RUNS];
	for (int k = 0; k < runs; k++) {
		u[k] = traced_usdt(n);
		s[k] = traced_stap(n);
		r[k] = s[k] / u[k];
	}
	usleep(200000);
	bench_bt_stop(&bt);
	long cu = bench_bt_count(&bt, "usdt"), cs = bench_bt_count(&bt, "stap"), want = 100 + (long)runs * n;
	unlink(bt.out);
	printf("# traced: %d runs x %ld fires per probe, bpftrace count(): libusdt %ld, libstapsdt %ld (fired %ld each)\n",
	       runs, n, cu, cs, want);
	bench_row("libstapsdt", "traced usdt_fire_probe, 2 args (libusdt.so)", bench_median(u, runs), "ns", -1, "", "", "");
	bench_row("libstapsdt", "traced probeFire, 2 args (libstapsdt." STAP_LINK ")", bench_median(s, runs), "ns",
	          bench_median(r, runs), "traced usdt_fire_probe, 2 args (libusdt.so)", "", "");
	return cu == want && cs == want ? 0 : 1;
}

int main(void)
{
	int runs = bench_runs(), ok = 1;
	long iters = bench_iters(20000000, 500000);
	int cpu = bench_pin();

	usdt_provider_t *uprov = usdt_create_provider("benchpu", "peer");
	usdt_probedef_t *upd = usdt_create_probe("peer", "f2", 2, (const char **)types2);
	if (uprov == NULL || upd == NULL || usdt_provider_add_probe(uprov, upd) != 0 || usdt_provider_enable(uprov) != 0) {
		fprintf(stderr, "libstapsdt: libusdt provider: %s\n", uprov ? usdt_errstr(uprov) : usdt_last_errstr());
		return 1;
	}
	up = upd->probe;
	SDTProvider_t *sprov = providerInit("benchps");
	sp = providerAddProbe(sprov, "f2", 2, int64, int64);
	if (sp == NULL || providerLoad(sprov) != 0) {
		fprintf(stderr, "libstapsdt: load failed: %s\n", sprov->error ? sprov->error : "?");
		return 1;
	}
	if (usdt_is_enabled(up) || probeIsEnabled(sp))
		fprintf(stderr, "libstapsdt: warning: a probe is traced; the untraced figures are not untraced\n");

	bench_header("libstapsdt (linux-usdt/libstapsdt, built outside the tree) against libusdt, same process");
	printf("# libstapsdt." STAP_LINK " and libusdt.so, both called through the PLT; %d runs x %ld iterations, "
	       "pinned to CPU %d\n", runs, iters, cpu);

	double ns[C_N][BENCH_MAX_RUNS];
	void *x = &runs;
	for (int c = 0; c < C_N; c++)
		runners[c](iters / 10, x);
	for (int r = 0; r < runs; r++)
		for (int c = 0; c < C_N; c++)
			ns[c][r] = runners[c](iters, x);
	double med[C_N];
	for (int c = 0; c < C_N; c++)
		med[c] = bench_median(ns[c], runs);
#define RATIO(a, b)                                              \
	({                                                       \
		double r_[BENCH_MAX_RUNS];                       \
		for (int k_ = 0; k_ < runs; k_++)                \
			r_[k_] = ns[a][k_] / ns[b][k_];          \
		bench_median(r_, runs);                          \
	})
	static const char SDT2[] = "compiled-in DTRACE_PROBE2 site (called)";
	static const char LIB[] = "empty exported library function (2 args)";
	static const char LIB1[] = "if (empty library function(p)) ...";
	static const char UFIRE[] = "usdt_fire_probe, 2 args, untraced (libusdt.so)";
	static const char SFIRE[] = "probeFire, 2 args, untraced (libstapsdt." STAP_LINK ")";
	static const char UGUARD[] = "if (usdt_is_enabled(p)) fire (libusdt.so)";
	static const char SGUARD[] = "if (probeIsEnabled(p)) fire (libstapsdt." STAP_LINK ")";
	bench_row("libstapsdt", SDT2, med[C_SDT2], "ns", -1, "", "", "");
	bench_row("libstapsdt", LIB, med[C_LIBCALL], "ns", RATIO(C_LIBCALL, C_SDT2), SDT2, "", "");
	bench_row("libstapsdt", LIB1, med[C_LIBCALL1], "ns", -1, "", "", "");
	bench_row("libstapsdt", UFIRE, med[C_UFIRE], "ns", RATIO(C_UFIRE, C_LIBCALL), LIB, "", "");
	bench_row("libstapsdt", SFIRE, med[C_SFIRE], "ns", RATIO(C_SFIRE, C_LIBCALL), LIB, "", "");
	bench_row("libstapsdt", "probeFire against usdt_fire_probe (untraced)", med[C_SFIRE], "ns",
	          RATIO(C_SFIRE, C_UFIRE), UFIRE, "", "");
	bench_row("libstapsdt", UGUARD, med[C_UGUARD], "ns", RATIO(C_UGUARD, C_LIBCALL1), LIB1, "", "");
	bench_row("libstapsdt", SGUARD, med[C_SGUARD], "ns", RATIO(C_SGUARD, C_LIBCALL1), LIB1, "", "");
	bench_row("libstapsdt", "probeIsEnabled guard against usdt_is_enabled's", med[C_SGUARD], "ns",
	          RATIO(C_SGUARD, C_UGUARD), UGUARD, "", "");

	static const int sizes[] = { 1, 1000 };
	for (int z = 0; z < 2; z++) {
		double ue[BENCH_MAX_RUNS], ud[BENCH_MAX_RUNS], se[BENCH_MAX_RUNS], sd[BENCH_MAX_RUNS];
		double re[BENCH_MAX_RUNS], rd[BENCH_MAX_RUNS];
		for (int r = 0; r < runs; r++) {
			if (usdt_enable_us(sizes[z], &ue[r], &ud[r]) != 0 || stap_load_us(sizes[z], &se[r], &sd[r]) != 0) {
				fprintf(stderr, "libstapsdt: enable/load of %d probes failed\n", sizes[z]);
				ok = 0;
				break;
			}
			re[r] = se[r] / ue[r];
			rd[r] = sd[r] / ud[r];
		}
		if (!ok)
			break;
		char un[96], sn[96];
		snprintf(un, sizeof un, "usdt_provider_enable, %d probe%s", sizes[z], sizes[z] > 1 ? "s" : "");
		snprintf(sn, sizeof sn, "providerLoad, %d probe%s", sizes[z], sizes[z] > 1 ? "s" : "");
		bench_row("libstapsdt", un, bench_median(ue, runs), "us", -1, "", "", "");
		bench_row("libstapsdt", sn, bench_median(se, runs), "us", bench_median(re, runs), un, "", "");
		snprintf(un, sizeof un, "usdt_provider_disable, %d probe%s", sizes[z], sizes[z] > 1 ? "s" : "");
		snprintf(sn, sizeof sn, "providerUnload, %d probe%s", sizes[z], sizes[z] > 1 ? "s" : "");
		bench_row("libstapsdt", un, bench_median(ud, runs), "us", -1, "", "", "");
		bench_row("libstapsdt", sn, bench_median(sd, runs), "us", bench_median(rd, runs), un, "", "");
	}

	int t = traced_part(runs);
	if (t == 1) {
		fprintf(stderr, "libstapsdt: the traced part failed\n");
		ok = 0;
	}

	providerUnload(sprov);
	providerDestroy(sprov);
	usdt_probe_release(upd);
	usdt_provider_free(uprov);
	return ok ? 0 : 1;
}
