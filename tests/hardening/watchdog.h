/*
 * watchdog.h — hang detection for the hardening tests.
 *
 * A test that can deadlock must fail, not hang until the runner's timeout:
 * watchdog_start(name, secs) starts a thread that exits the process with
 * status 3 (after printing which test and how long) when the progress
 * counter has not moved for `secs` seconds. Call watchdog_tick() whenever
 * the test makes progress.
 */
#ifndef TEST_WATCHDOG_H
#define TEST_WATCHDOG_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_long watchdog_progress;
static const char *watchdog_what;
static int watchdog_secs;

static inline void watchdog_tick(void)
{
	atomic_fetch_add_explicit(&watchdog_progress, 1, memory_order_relaxed);
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	long last = -1;
	int still = 0;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		long now = atomic_load(&watchdog_progress);
		if (now != last) {
			last = now;
			still = 0;
		} else if (++still >= watchdog_secs * 10) {
			printf("not ok - %s: no progress for %d s (deadlock)\n", watchdog_what, watchdog_secs);
			fflush(stdout);
			_exit(3);
		}
	}
	return NULL;
}

static inline void watchdog_start(const char *what, int secs)
{
	pthread_t t;
	watchdog_what = what;
	watchdog_secs = secs;
	pthread_create(&t, NULL, watchdog_main, NULL);
	pthread_detach(t);
}
#endif
