/*
 * t_threads.c — firing from several threads while another thread changes
 * the provider under them: disable/enable cycles, probes added and removed
 * while enabled, and the provider freed and re-created. No crash, no use of
 * unmapped code, and (under ThreadSanitizer, `make check-tsan`) no report.
 *
 * Fire threads hold usdt_probe_t pointers read from probedef->probe while
 * the provider was enabled; the test keeps its own reference on every
 * definition, so the pointers stay valid across disable and free.
 * Sizes (environment): T_FIRES (total fires, default 1000000),
 * T_CYCLES (disable/enable cycles, 10000), T_RECREATE (free/create, 1000),
 * T_THREADS (firing threads, 3). Threads fire until the cycles are done and
 * at least T_FIRES fires have happened.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "usdt.h"

#define NPROBES 4

static usdt_probedef_t *defs[NPROBES];
static usdt_probe_t *probes[NPROBES];     /* written before threads start */
static atomic_long fires_done;
static atomic_long enabled_seen;
static atomic_int stop;

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	return v != NULL ? atol(v) : def;
}

static void *fire_thread(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	void *argv[3] = { (void *)id, (void *)"thread", (void *)(intptr_t)-1 };
	long n = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		usdt_probe_t *p = probes[id % NPROBES];
		usdt_fire_probe(p, 3, argv);
		if (usdt_is_enabled(p))
			atomic_fetch_add(&enabled_seen, 1);
		id++;
		if (++n == 1024) {
			atomic_fetch_add_explicit(&fires_done, n, memory_order_relaxed);
			n = 0;
		}
	}
	atomic_fetch_add(&fires_done, n);
	return NULL;
}

static usdt_provider_t *make_provider(void)
{
	usdt_provider_t *p = usdt_create_provider("threads", "t");
	for (int i = 0; i < NPROBES; i++)
		if (usdt_provider_add_probe(p, defs[i]) != 0)
			return NULL;
	return p;
}

int main(void)
{
	long nfires = env_long("T_FIRES", 1000000), cycles = env_long("T_CYCLES", 10000);
	long recreate = env_long("T_RECREATE", 1000), nthreads = env_long("T_THREADS", 3);
	const char *types[] = { "int", "char *", "int64_t" };
	char name[16];
	for (int i = 0; i < NPROBES; i++) {
		snprintf(name, sizeof name, "p%d", i);
		defs[i] = usdt_create_probe("f", name, 3, types);
	}
	usdt_provider_t *prov = make_provider();
	CHECK(prov != NULL && usdt_provider_enable(prov) == 0, "provider with %d probes enabled", NPROBES);
	for (int i = 0; i < NPROBES; i++)
		probes[i] = defs[i]->probe;

	pthread_t th[16];
	if (nthreads > 16)
		nthreads = 16;
	for (long i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, fire_thread, (void *)(uintptr_t)i);

	long done_cycles = 0, done_recreate = 0, failures = 0, extra = 0;
	usdt_probedef_t *x = usdt_create_probe("f", "extra", 0, NULL);
	while (done_cycles < cycles || done_recreate < recreate) {
		if (done_cycles < cycles) {
			failures += usdt_provider_disable(prov) != 0;
			failures += usdt_provider_enable(prov) != 0;
			done_cycles++;
			if (done_cycles % 97 == 0) {         /* add and remove while enabled */
				failures += usdt_provider_add_probe(prov, x) != 0;
				failures += usdt_provider_remove_probe(prov, x) != 0;
				extra++;
			}
		}
		if (done_recreate < recreate) {
			usdt_provider_free(prov);
			prov = make_provider();
			failures += prov == NULL || usdt_provider_enable(prov) != 0;
			done_recreate++;
		}
		for (int i = 0; i < NPROBES; i++)
			failures += defs[i]->probe != probes[i];   /* the pointer never changes */
	}
	/* fire at least nfires in all, then stop the firing threads */
	while (atomic_load(&fires_done) < nfires)
		sched_yield();
	atomic_store(&stop, 1);
	for (long i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	CHECK(failures == 0, "%ld disable/enable cycles, %ld add/remove while enabled, %ld free/create cycles: %ld failures",
	      done_cycles, extra, done_recreate, failures);
	CHECK(atomic_load(&fires_done) >= nfires, "%ld fires from %ld threads during the cycles",
	      (long)atomic_load(&fires_done), nthreads);
	CHECK(atomic_load(&enabled_seen) == 0, "no tracer attached: is_enabled was never true (%ld)",
	      (long)atomic_load(&enabled_seen));
	usdt_provider_free(prov);
	usdt_probe_release(x);
	for (int i = 0; i < NPROBES; i++) {
		usdt_fire_probe(probes[i], 0, NULL);      /* definition still alive: a no-op */
		usdt_probe_release(defs[i]);
	}
	CHECK(1, "fires after the provider was freed are no-ops");
	return check_done();
}
