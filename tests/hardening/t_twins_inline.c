/*
 * t_twins_inline.c — two providers of the same name (two copies of a
 * library in one process): changing one must never disturb the other
 * (issue 9, item 3).
 *
 * P1 is enabled once and never touched again; another thread enables and
 * disables P2, of the same name, as fast as it can, which rebuilds the
 * shared object each time. Reader threads use P1's probe the three ways a
 * binding does: probedef->probe (must never read NULL while P1 is
 * enabled), usdt_is_enabled_inline() (must never read an unloaded
 * object's semaphore: that was a SIGSEGV) and usdt_is_enabled() +
 * usdt_fire_probe(). Also run under ThreadSanitizer (make check-tsan):
 * no race may be reported. T_SECONDS (default 3).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "usdt.h"
#include "watchdog.h"

static usdt_probedef_t *d1, *d2;
static usdt_provider_t *p1, *p2;
static atomic_int stop;
static atomic_long null_reads, reads, toggles;

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		usdt_probe_t *pr = __atomic_load_n(&d1->probe, __ATOMIC_ACQUIRE);
		if (pr == NULL) {
			atomic_fetch_add(&null_reads, 1);
			continue;
		}
		if (usdt_is_enabled_inline(pr))
			usdt_fire_probe(pr, 1, (void *[]){ (void *)1 });
		if (usdt_is_enabled(pr))
			usdt_fire_probe(pr, 1, (void *[]){ (void *)2 });
		usdt_fire_probe(pr, 1, (void *[]){ (void *)3 });
		atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *toggler(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (usdt_provider_enable(p2) != 0 || usdt_provider_disable(p2) != 0) {
			printf("# P2: %s\n", usdt_errstr(p2));
			abort();
		}
		atomic_fetch_add(&toggles, 1);
		watchdog_tick();
	}
	return NULL;
}

int main(void)
{
	int seconds = getenv("T_SECONDS") ? atoi(getenv("T_SECONDS")) : 3;
	static const char *types[] = { "int" };
	p1 = usdt_create_provider("twinlib", "copy1");
	p2 = usdt_create_provider("twinlib", "copy2");
	d1 = usdt_create_probe("f", "req", 1, types);
	d2 = usdt_create_probe("f", "req", 1, types);
	CHECK(p1 && p2 && d1 && d2 && usdt_provider_add_probe(p1, d1) == 0 && usdt_provider_add_probe(p2, d2) == 0,
	      "two providers named twinlib, each with probe req");
	CHECK(usdt_provider_enable(p1) == 0, "P1 enabled once");
	watchdog_start("twins", 5);
	pthread_t r[2], t;
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	pthread_create(&t, NULL, toggler, NULL);
	struct timespec ts = { seconds, 0 };
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	printf("# %ld P2 enable/disable cycles, %ld reads of P1's probe, %ld NULL\n", atomic_load(&toggles),
	       atomic_load(&reads), atomic_load(&null_reads));
	CHECK(atomic_load(&toggles) > 10 && atomic_load(&reads) > 1000, "both sides made progress");
	CHECK(atomic_load(&null_reads) == 0, "P1's probedef->probe never read NULL while P1 was enabled");
	CHECK(d1->probe != NULL && usdt_provider_disable(p1) == 0 && d1->probe == NULL, "P1 disables normally");
	usdt_provider_free(p1);
	usdt_provider_free(p2);
	usdt_probe_release(d1);
	usdt_probe_release(d2);
	return check_done();
}
