/*
 * t_twins_manage.c — two providers of the same name, each managed by its
 * own thread at the same time, which usdt.h allows ("different providers
 * may be managed from different threads at once"). Found by the Node
 * binding's stress test: Node workers each own their providers, and two
 * workers can own twins.
 *
 * Thread A adds and removes probes of its enabled provider A; thread B
 * enables and disables B, of the same name, which rebuilds the object the
 * twins share from both probe lists. A's add/remove changed A's list and
 * probe count before taking the lock that B's rebuild holds while it
 * sizes its arrays from the counts and walks the lists: a heap overflow
 * (ASan: build_generation) or a NULL hole (SIGSEGV). Checked here: no
 * crash (ASan and TSan in check-asan/check-tsan), every add and remove
 * returns 0, and after the run the shared object has exactly A's and B's
 * probes (bound, with their probe objects). T_SECONDS (default 3).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "usdt.h"
#include "watchdog.h"

#define NAMES 8                 /* distinct probe names A cycles through */

static atomic_int stop;
static atomic_long twin_rounds, twin_failures;

static void *twin(void *arg)
{
	(void)arg;
	const char *t[] = { "int" };
	usdt_provider_t *b = usdt_create_provider("twinmgr", "b");
	usdt_probedef_t *pd = usdt_create_probe("f", "bp", 1, t);
	usdt_provider_add_probe(b, pd);
	while (!atomic_load(&stop)) {
		if (usdt_provider_enable(b) != 0 || usdt_provider_disable(b) != 0)
			atomic_fetch_add(&twin_failures, 1);
		atomic_fetch_add(&twin_rounds, 1);
		watchdog_tick();
	}
	usdt_probe_release(pd);
	usdt_provider_free(b);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *s = getenv("T_SECONDS");
	double secs = s != NULL ? atof(s) : 3;
	watchdog_start("t_twins_manage", 30);
	const char *t[] = { "int" };
	usdt_provider_t *a = usdt_create_provider("twinmgr", "a");
	usdt_probedef_t *p0 = usdt_create_probe("f", "p0", 1, t);
	CHECK(a != NULL && p0 != NULL && usdt_provider_add_probe(a, p0) == 0 && usdt_provider_enable(a) == 0,
	      "provider A enabled");
	pthread_t th;
	pthread_create(&th, NULL, twin, NULL);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long rounds = 0, failures = 0;
	do {
		char name[16];
		snprintf(name, sizeof name, "x%ld", rounds % NAMES);
		usdt_probedef_t *pd = usdt_create_probe("f", name, 1, t);
		if (pd == NULL || usdt_provider_add_probe(a, pd) != 0 || usdt_provider_remove_probe(a, pd) != 0) {
			if (failures++ == 0)
				printf("# first failure: %s\n", usdt_errstr(a));
		}
		usdt_probe_release(pd);
		rounds++;
		watchdog_tick();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	CHECK(failures == 0, "%ld add/remove rounds on A, none failed", rounds);
	CHECK(atomic_load(&twin_failures) == 0 && atomic_load(&twin_rounds) > 0,
	      "%ld enable/disable rounds of twin B, none failed", atomic_load(&twin_rounds));
	CHECK(p0->probe != NULL && usdt_is_enabled(p0->probe) == 0, "A's own probe is still bound after the run");
	usdt_probedef_t *late = usdt_create_probe("f", "late", 1, t);
	CHECK(usdt_provider_add_probe(a, late) == 0 && late->probe != NULL, "A still takes a probe");
	usdt_probe_release(late);
	usdt_probe_release(p0);
	usdt_provider_free(a);
	return check_done();
}
