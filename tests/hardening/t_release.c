/*
 * t_release.c — reference counting mistakes through the public API are
 * refused, and usdt_probe_t pointers never dangle (issue 9, item 12).
 *
 * 1. usdt_probe_release() on a definition still in a provider, when only
 *    the provider's reference is left, used to free it under the provider
 *    (ASan: heap-use-after-free on the next enable). It is refused with
 *    USDT_ERROR_INVALID and the definition stays usable.
 * 2. usdt_probe_t objects were kept alive only by a 64-entry quarantine:
 *    freeing a provider of 1 000 probes freed most probe objects at once
 *    while other threads still held probedef->probe pointers. The rule now
 *    (usdt.h): probe objects live in type-stable memory and are never
 *    returned to the allocator, so a stale pointer fires nothing. Threads
 *    keep firing through all 1 000 saved pointers while the provider and
 *    its definitions are freed (run under ASan by make check-asan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "usdt.h"

#define T_PROBES 1000

static usdt_probe_t *saved[T_PROBES];
static atomic_int stop;
static atomic_long fires, enabled_after;

static void *firer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		for (int i = 0; i < T_PROBES; i++) {
			if (usdt_is_enabled(saved[i]))
				atomic_fetch_add(&enabled_after, 1);
			usdt_fire_probe(saved[i], 1, (void *[]){ (void *)(intptr_t)i });
			atomic_fetch_add_explicit(&fires, 1, memory_order_relaxed);
		}
	return NULL;
}

int main(void)
{
	static const char *types[] = { "int" };
	/* 1. double release */
	usdt_provider_t *p = usdt_create_provider("relprov", "m");
	usdt_probedef_t *d = usdt_create_probe("f", "p", 1, types);
	CHECK(p && d && usdt_provider_add_probe(p, d) == 0, "probe added (2 references)");
	usdt_probe_release(d);
	CHECK(d->refcnt == 1, "creator's release leaves the provider's reference");
	usdt_probe_release(d);
	CHECK(usdt_last_error() == USDT_ERROR_INVALID, "a release of the provider's own reference is refused: %s",
	      usdt_last_errstr());
	CHECK(d->refcnt == 1 && d->name != NULL, "the definition is untouched");
	CHECK(usdt_provider_enable(p) == 0 && d->probe != NULL, "and the provider still enables");
	usdt_fire_probe(d->probe, 1, (void *[]){ (void *)1 });
	usdt_provider_free(p);

	/* 2. 1 000 probes freed while other threads fire through saved pointers */
	p = usdt_create_provider("relmany", "m");
	CHECK(p != NULL, "provider of %d probes", T_PROBES);
	for (int i = 0; i < T_PROBES; i++) {
		char name[32];
		snprintf(name, sizeof name, "p%d", i);
		usdt_probedef_t *pd = usdt_create_probe("f", name, 1, types);
		if (pd == NULL || usdt_provider_add_probe(p, pd) != 0)
			return 1;
		usdt_probe_release(pd);          /* the provider owns it alone */
	}
	CHECK(usdt_provider_enable(p) == 0, "enabled");
	int i = 0;
	for (usdt_probedef_t *pd = p->probedefs; pd != NULL; pd = pd->next)
		saved[i++] = pd->probe;
	pthread_t t[2];
	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, firer, NULL);
	struct timespec ts = { 0, 50 * 1000000 };
	nanosleep(&ts, NULL);
	usdt_provider_free(p);             /* frees every definition */
	atomic_store(&enabled_after, 0);
	/* churn the allocator so freed memory is reused */
	for (int k = 0; k < 2000; k++) {
		usdt_provider_t *q = usdt_create_provider("churn", "m");
		usdt_probedef_t *pd = usdt_create_probe("f", "c", 0, NULL);
		usdt_provider_add_probe(q, pd);
		usdt_probe_release(pd);
		usdt_provider_free(q);
		free(calloc(1, 64));
	}
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	printf("# %ld fires through %d saved pointers around the free\n", atomic_load(&fires), T_PROBES);
	CHECK(atomic_load(&enabled_after) == 0, "stale probe pointers fire nothing and report disabled");
	return check_done();
}
