/*
 * t_stopped_reader.c — a thread held inside a probe (a debugger stopped it
 * at the probe site) must delay only the unmapping of that probe's object,
 * nothing else (issue 9, item 10).
 *
 * The writer used to wait for readers while holding the reader registry
 * lock: a thread stopped inside a probe blocked every new thread's first
 * fire and every thread exit in the process. Here a thread enters a read
 * section the way usdt_fire_probe() does (internal reader API: the test
 * stands for the stopped thread) and stays there; another thread disables
 * the provider; then new threads are started that fire for the first time
 * and exit. They must all finish within T_LIMIT_MS (2000); the stopped
 * reader is then released and the disable must complete.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "reader.h"
#include "usdt.h"

#define T_NEW_THREADS 8

static atomic_int release_reader, reader_inside, disabled;
static usdt_provider_t *prov;
static usdt_probedef_t *def;

static void *stopped_reader(void *arg)
{
	(void)arg;
	struct usdt_read_section rs;
	usdt_reader_begin(&rs);
	atomic_store(&reader_inside, 1);
	while (!atomic_load(&release_reader)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	usdt_reader_end(&rs);
	return NULL;
}

static void *disabler(void *arg)
{
	(void)arg;
	usdt_provider_disable(prov);
	atomic_store(&disabled, 1);
	return NULL;
}

static atomic_int new_done;

static void *newcomer(void *arg)
{
	usdt_probe_t *p = arg;
	usdt_fire_probe(p, 1, (void *[]){ (void *)1 });
	(void)usdt_is_enabled(p);
	atomic_fetch_add(&new_done, 1);
	return NULL;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
	long limit = getenv("T_LIMIT_MS") ? atol(getenv("T_LIMIT_MS")) : 2000;
	static const char *types[] = { "int" };
	prov = usdt_create_provider("stopped", "m");
	def = usdt_create_probe("f", "p", 1, types);
	CHECK(prov && def && usdt_provider_add_probe(prov, def) == 0 && usdt_provider_enable(prov) == 0, "enabled");
	usdt_probe_t *probe = def->probe;
	pthread_t r, w, n[T_NEW_THREADS];
	pthread_create(&r, NULL, stopped_reader, NULL);
	while (!atomic_load(&reader_inside))
		sched_yield();
	pthread_create(&w, NULL, disabler, NULL);
	struct timespec ts = { 0, 50 * 1000000 }, t0;
	nanosleep(&ts, NULL);           /* the disable is under way */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < T_NEW_THREADS; i++)
		pthread_create(&n[i], NULL, newcomer, probe);
	while (atomic_load(&new_done) < T_NEW_THREADS && ms_since(&t0) < limit)
		nanosleep(&ts, NULL);
	int done = atomic_load(&new_done);
	printf("# %d of %d new threads fired within %ld ms while a reader was held inside a probe\n", done,
	       T_NEW_THREADS, ms_since(&t0));
	CHECK(done == T_NEW_THREADS, "new threads fire while another thread is stopped inside a probe");
	atomic_store(&release_reader, 1);
	for (int i = 0; i < T_NEW_THREADS; i++)
		pthread_join(n[i], NULL);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	CHECK(atomic_load(&disabled) == 1 && def->probe == NULL, "the disable completed once the reader left");
	usdt_probe_release(def);
	usdt_provider_free(prov);
	return check_done();
}
