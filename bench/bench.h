/*
 * bench.h — helpers shared by the libusdt benchmark programs (bench/NAME.c):
 * a monotonic clock, CPU pinning, medians, the run/iteration counts of the
 * full and smoke modes, and the one way every program reports a figure:
 * bench_row() prints an aligned table line on stdout and appends the same
 * figure as a CSV line to $BENCH_CSV (when set; bench/run.sh sets it).
 *
 * Environment read by every program:
 *   BENCH_SMOKE=1   short smoke mode (fewer iterations, still >= 5 runs)
 *   BENCH_RUNS=N    runs per figure (default 7, never below 5)
 *   BENCH_SCALE=F   multiply the full mode's iteration counts by F (e.g.
 *                   0.05 in the arm64 VM, whose emulated CPU is slow)
 *   BENCH_CPU=N     CPU to pin to (default: the last one allowed)
 *   BENCH_CSV=PATH  CSV file to append figures to
 */
#ifndef BENCH_H
#define BENCH_H

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_RUNS 64

/* A function the compiler must really call: not inlined, not cloned, not
 * analysed across the call (GCC's noipa; clang has only noinline). */
#if defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE __attribute__((noipa))
#endif

static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_smoke(void)
{
	const char *s = getenv("BENCH_SMOKE");
	return s != NULL && s[0] != '\0' && strcmp(s, "0") != 0;
}

static inline int bench_runs(void)
{
	const char *s = getenv("BENCH_RUNS");
	int n = s != NULL ? atoi(s) : 7;
	if (n < 5)
		n = 5;
	if (n > BENCH_MAX_RUNS)
		n = BENCH_MAX_RUNS;
	return n;
}

/* Iterations per case: smoke's in smoke mode, else full * BENCH_SCALE. */
static inline long bench_iters(long full, long smoke)
{
	const char *s = getenv("BENCH_SCALE");
	double f = s != NULL && s[0] != '\0' ? atof(s) : 1.0;
	long n = (long)((double)full * (f > 0 ? f : 1.0));
	if (bench_smoke())
		return smoke;
	return n < 1000 ? 1000 : n;
}

/* Pin the calling thread to one CPU; returns the CPU or -1. */
static inline int bench_pin(void)
{
	cpu_set_t set;
	int cpu = -1;
	const char *s = getenv("BENCH_CPU");
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return -1;
	if (s != NULL && s[0] != '\0') {
		cpu = atoi(s);
	} else {
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpu = i;
	}
	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n) (v is reordered). */
static inline double bench_median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Status of a figure against a target: "PASS", "MISS" or "" (no target). */
static inline const char *bench_status(int has_target, int ok)
{
	return !has_target ? "" : ok ? "PASS" : "MISS";
}

/*
 * Report one figure. section: "untraced", "traced", "lifecycle", ...;
 * name: what was measured; value/unit: the median; ratio: value divided by
 * the baseline of the same run (median of the per-run ratios), or < 0 when
 * there is none; baseline: its name; target: the target text ("<= 2x") or
 * ""; status: bench_status().
 */
static inline void bench_row(const char *section, const char *name, double value, const char *unit,
                             double ratio, const char *baseline, const char *target, const char *status)
{
	char v[32], r[96];
	if (value >= 100)
		snprintf(v, sizeof v, "%.0f", value);
	else if (value >= 10)
		snprintf(v, sizeof v, "%.1f", value);
	else
		snprintf(v, sizeof v, "%.2f", value);
	if (ratio >= 0)
		snprintf(r, sizeof r, "%.2fx %s", ratio, baseline);
	else
		snprintf(r, sizeof r, "-");
	printf("%-10s %-44s %10s %-6s %-34s %-16s %s\n", section, name, v, unit, r, target, status);
	fflush(stdout);
	const char *csv = getenv("BENCH_CSV");
	if (csv != NULL && csv[0] != '\0') {
		FILE *f = fopen(csv, "a");
		if (f != NULL) {
			fprintf(f, "%s,\"%s\",%.4f,%s,%.4f,\"%s\",\"%s\",%s\n", section, name, value, unit,
			        ratio >= 0 ? ratio : 0.0, ratio >= 0 ? baseline : "", target, status);
			fclose(f);
		}
	}
}

static inline void bench_header(const char *title)
{
	printf("\n== %s\n%-10s %-44s %10s %-6s %-34s %-16s %s\n", title, "section", "figure", "median",
	       "unit", "ratio (same run)", "target", "status");
	fflush(stdout);
}

/* The body of a timed case: run the statements n times (i counts), return
 * the nanoseconds per iteration. */
#define LOOP(n, ...)                                               \
	do {                                                       \
		double t0_ = bench_now_ns();                       \
		for (long i = 0; i < (n); i++) {                   \
			__VA_ARGS__;                               \
		}                                                  \
		return (bench_now_ns() - t0_) / (double)(n);       \
	} while (0)

#endif
