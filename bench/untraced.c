/*
 * untraced.c — cost of libusdt's fast paths when no tracer is attached,
 * against compiled-in <sys/sdt.h> probes measured in the same run.
 *
 * Each case is a loop of N iterations on one pinned CPU; a run measures
 * every case once, in turn, and each figure is the median over the runs of
 * ns per iteration and of its ratio to the baseline of the same run:
 *   call        an empty non-inlined function with 2 arguments
 *   libcall     an empty function exported by a shared library
 *               (libbenchlib.so), called through the PLT: the floor of any
 *               call into a library
 *   sdt2        a compiled-in DTRACE_PROBE2 site in a non-inlined function
 *               (both it and usdt_fire_probe pay one call)
 *   semaphore   a compiled-in semaphore-guarded DTRACE_PROBE2 site:
 *               `if (sem) DTRACE_PROBE2(...)` inline in the loop
 *   fire N      usdt_fire_probe() with N = 0, 2, 6, 12 arguments
 *   is_enabled  `if (usdt_is_enabled(p)) usdt_fire_probe(p, 2, argv)`
 *   inline      `if (usdt_is_enabled_inline(p)) usdt_fire_probe(...)`
 * The program is built twice (Makefile): linked with libusdt.a
 * (BENCH_LINK "static") and with libusdt.so (BENCH_LINK "shared": what
 * pkg-config users, Python and Node get). Targets: fire 2 <= 2x sdt2 and
 * <= 1.3x libcall; inline <= 1.5x semaphore; is_enabled <= 1.3x libcall.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include <stdint.h>

#include "bench.h"
#include "usdt.h"

/* The compiled-in semaphore of bench_u:sema, in .probes like sys/sdt.h
 * wants it. volatile: a real guarded site re-reads it each time, and in a
 * loop with nothing else the compiler would read it once. */
__extension__ volatile unsigned short bench_u_sema_semaphore __attribute__((unused, section(".probes")));
/* _SDT_HAS_SEMAPHORES applies to every site of the file: site2 gets one too
 * (it only costs the site's note a field; the site itself is not guarded). */
__extension__ unsigned short bench_u_site2_semaphore __attribute__((unused, section(".probes")));

void bench_empty2(long a, long b);
void bench_sdt2(long a, long b);
void bench_lib_empty2(long a, long b);      /* libbenchlib.so */
int bench_lib_empty1(void *p);

#ifndef BENCH_LINK
#define BENCH_LINK "static"
#endif

/* Every case's function, and the two called functions, start on a 64-byte
 * line, so that a loop sits at the same offset in every build: these loops
 * take whole cycles (the semaphore check 1 cycle per iteration within one
 * line, 2 across two), and where the linker happened to put them decided
 * ratios (the shared build's semaphore loop straddled a line: the inline
 * check then read 1.11x of it, the static build's 1.87x). libusdt aligns
 * its own fast paths the same way (src/usdt.c). */
#define BENCH_LINE __attribute__((aligned(64)))
#define BENCH_CASE static __attribute__((noinline)) BENCH_LINE

BENCH_NOINLINE BENCH_LINE void bench_empty2(long a, long b)
{
	__asm__ volatile("" : : "r"(a), "r"(b));
}

BENCH_NOINLINE BENCH_LINE void bench_sdt2(long a, long b)
{
	DTRACE_PROBE2(bench_u, site2, a, b);
}

static usdt_probe_t *probes[4];      /* 0, 2, 6, 12 arguments */


BENCH_CASE double run_call(long n, void *x)
{
	LOOP(n, bench_empty2(i, (long)x));
}

BENCH_CASE double run_libcall(long n, void *x)
{
	LOOP(n, bench_lib_empty2(i, (long)x));
}

BENCH_CASE double run_libcall1(long n, void *x)
{
	LOOP(n, if (bench_lib_empty1(x)) bench_lib_empty2(i, (long)x));
}

BENCH_CASE double run_sdt2(long n, void *x)
{
	LOOP(n, bench_sdt2(i, (long)x));
}

BENCH_CASE double run_sem(long n, void *x)
{
	LOOP(n, if (__builtin_expect(bench_u_sema_semaphore, 0)) DTRACE_PROBE2(bench_u, sema, i, x));
}

BENCH_CASE double run_fire0(long n, void *x)
{
	usdt_probe_t *p = probes[0];
	(void)x;
	LOOP(n, usdt_fire_probe(p, 0, NULL));
}

BENCH_CASE double run_fire2(long n, void *x)
{
	usdt_probe_t *p = probes[1];
	LOOP(n, void *argv[2] = { (void *)i, x }; usdt_fire_probe(p, 2, argv));
}

BENCH_CASE double run_fire6(long n, void *x)
{
	usdt_probe_t *p = probes[2];
	LOOP(n, void *argv[6] = { (void *)i, x, x, x, x, x }; usdt_fire_probe(p, 6, argv));
}

BENCH_CASE double run_fire12(long n, void *x)
{
	usdt_probe_t *p = probes[3];
	LOOP(n, void *argv[12] = { (void *)i, x, x, x, x, x, x, x, x, x, x, x }; usdt_fire_probe(p, 12, argv));
}

BENCH_CASE double run_is_enabled(long n, void *x)
{
	usdt_probe_t *p = probes[1];
	LOOP(n, if (usdt_is_enabled(p)) {
		void *argv[2] = { (void *)i, x };
		usdt_fire_probe(p, 2, argv);
	});
}

BENCH_CASE double run_inline(long n, void *x)
{
	usdt_probe_t *p = probes[1];
	LOOP(n, if (__builtin_expect(usdt_is_enabled_inline(p), 0)) {
		void *argv[2] = { (void *)i, x };
		usdt_fire_probe(p, 2, argv);
	});
}

enum { C_CALL, C_SDT2, C_LIBCALL, C_LIBCALL1, C_SEM, C_FIRE0, C_FIRE2, C_FIRE2L, C_FIRE6, C_FIRE12, C_ISEN,
       C_ISENL, C_INLINE, C_N };
static const struct {
	const char *name;
	double (*run)(long, void *);
	int base;            /* baseline case for the ratio, or -1 */
	double target;       /* max ratio, or 0 */
} cases[C_N] = {
	[C_CALL] = { "empty non-inlined call (2 args)", run_call, C_SDT2, 0 },
	[C_SDT2] = { "compiled-in DTRACE_PROBE2 site (called)", run_sdt2, -1, 0 },
	[C_LIBCALL] = { "empty exported library function (2 args)", run_libcall, -1, 0 },
	[C_LIBCALL1] = { "if (empty library function(p)) ...", run_libcall1, -1, 0 },
	[C_SEM] = { "compiled-in semaphore-guarded site", run_sem, -1, 0 },
	[C_FIRE0] = { "usdt_fire_probe, 0 args", run_fire0, C_SDT2, 0 },
	[C_FIRE2] = { "usdt_fire_probe, 2 args", run_fire2, C_SDT2, 2.0 },
	[C_FIRE2L] = { "usdt_fire_probe, 2 args (vs library floor)", run_fire2, C_LIBCALL, 1.3 },
	[C_FIRE6] = { "usdt_fire_probe, 6 args", run_fire6, C_SDT2, 0 },
	[C_FIRE12] = { "usdt_fire_probe, 12 args", run_fire12, C_SDT2, 0 },
	[C_ISEN] = { "usdt_is_enabled guard (exported)", run_is_enabled, C_SEM, 0 },
	[C_ISENL] = { "usdt_is_enabled guard (vs library floor)", run_is_enabled, C_LIBCALL1, 1.3 },
	[C_INLINE] = { "usdt_is_enabled_inline guard", run_inline, C_SEM, 1.5 },
};

int main(void)
{
	static const char *const types[12] = { "long", "long", "long", "long", "long", "long",
	                                       "long", "long", "long", "long", "long", "long" };
	static const int argcs[4] = { 0, 2, 6, 12 };
	static const char *const names[4] = { "f0", "f2", "f6", "f12" };
	int runs = bench_runs();
	long iters = bench_iters(20000000, 500000);
	int cpu = bench_pin();

	usdt_provider_t *prov = usdt_create_provider("benchu", "bench");
	if (prov == NULL) {
		fprintf(stderr, "untraced: %s\n", usdt_last_errstr());
		return 1;
	}
	usdt_probedef_t *pds[4];
	for (int k = 0; k < 4; k++) {
		pds[k] = usdt_create_probe("bench", names[k], (size_t)argcs[k], (const char **)types);
		if (pds[k] == NULL || usdt_provider_add_probe(prov, pds[k]) != 0) {
			fprintf(stderr, "untraced: %s\n", usdt_last_errstr());
			return 1;
		}
	}
	if (usdt_provider_enable(prov) != 0) {
		fprintf(stderr, "untraced: enable: %s\n", usdt_errstr(prov));
		return 1;
	}
	for (int k = 0; k < 4; k++) {
		probes[k] = pds[k]->probe;
		if (usdt_is_enabled(probes[k]))
			fprintf(stderr, "untraced: warning: probe %s is traced; figures are not untraced\n", names[k]);
	}

	bench_header("untraced fast paths (no tracer attached), libusdt linked " BENCH_LINK);
	printf("# %d runs x %ld iterations per case, pinned to CPU %d\n", runs, iters, cpu);

	double ns[C_N][BENCH_MAX_RUNS], ratio[C_N][BENCH_MAX_RUNS];
	void *x = &runs;
	for (int c = 0; c < C_N; c++)              /* warm-up: first fire registers the thread */
		cases[c].run(iters / 10, x);
	for (int r = 0; r < runs; r++)
		for (int c = 0; c < C_N; c++)
			ns[c][r] = cases[c].run(iters, x);
	for (int c = 0; c < C_N; c++)
		for (int r = 0; r < runs; r++)
			ratio[c][r] = cases[c].base >= 0 ? ns[c][r] / ns[cases[c].base][r] : -1;
	for (int c = 0; c < C_N; c++) {
		double med = bench_median(ns[c], runs);
		double rat = cases[c].base >= 0 ? bench_median(ratio[c], runs) : -1;
		char target[32] = "";
		if (cases[c].target > 0)
			snprintf(target, sizeof target, "<= %.1fx", cases[c].target);
		bench_row("untraced-" BENCH_LINK, cases[c].name, med, "ns", rat, cases[c].base >= 0 ? cases[cases[c].base].name : "",
		          target, bench_status(cases[c].target > 0, rat <= cases[c].target));
	}

	for (int k = 0; k < 4; k++)
		usdt_probe_release(pds[k]);
	usdt_provider_free(prov);
	return 0;
}
