/*
 * t_key_fail.c — pthread_key_create()/pthread_setspecific() failing must
 * not leave a dangling reader record (issue 9, item 13).
 *
 * A reader thread is forgotten at thread exit through a pthread key
 * destructor. When pthread_setspecific() failed (ENOMEM) the record was
 * never unregistered: after the thread exited, its record (in its freed
 * thread-local storage) stayed in the registry, the next thread to get the
 * same stack registered the same record again, and the writer's walk over
 * the registry looped or read garbage. Linked with
 * --wrap=pthread_setspecific,pthread_key_create (Makefile): every call
 * fails with ENOMEM. Threads fire once and exit, one after another, then
 * the provider is disabled, re-enabled and fired: no hang (watchdog), no
 * crash, and the probe still works.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "usdt.h"
#include "watchdog.h"

#define T_THREADS 64

#ifdef T_KEY_WRAPPED
int __real_pthread_setspecific(pthread_key_t key, const void *value);
int __wrap_pthread_setspecific(pthread_key_t key, const void *value);
int __real_pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
int __wrap_pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
static long setspecific_calls, key_create_calls;

int __wrap_pthread_setspecific(pthread_key_t key, const void *value)
{
	(void)key;
	(void)value;
	setspecific_calls++;
	return ENOMEM;
}

int __wrap_pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	if (getenv("T_KEY_CREATE_FAILS") == NULL)
		return __real_pthread_key_create(key, destructor);
	key_create_calls++;
	return EAGAIN;
}

#endif

static void *fire_once(void *arg)
{
	usdt_fire_probe(arg, 1, (void *[]){ (void *)1 });
	return NULL;
}

int main(void)
{
	static const char *types[] = { "int" };
	usdt_provider_t *p = usdt_create_provider("keyfail", "m");
	usdt_probedef_t *d = usdt_create_probe("f", "p", 1, types);
	CHECK(p && d && usdt_provider_add_probe(p, d) == 0 && usdt_provider_enable(p) == 0, "enabled");
	watchdog_start("reader records without a thread-exit key", 3);
	for (int i = 0; i < T_THREADS; i++) {
		pthread_t t;
		pthread_create(&t, NULL, fire_once, d->probe);
		pthread_join(t, NULL);
		watchdog_tick();
	}
	for (int i = 0; i < 10; i++) {
		CHECK(usdt_provider_disable(p) == 0 && usdt_provider_enable(p) == 0, "disable + enable %d", i);
		watchdog_tick();
	}
	usdt_fire_probe(d->probe, 1, (void *[]){ (void *)2 });
#ifndef T_KEY_WRAPPED
	printf("# not linked with the pthread key wrappers (sanitizer build): no faults injected\n");
	usdt_probe_release(d);
	usdt_provider_free(p);
	return check_done();
#else
	printf("# pthread_key_create refused %ld times, pthread_setspecific %ld times\n", key_create_calls,
	       setspecific_calls);
	int second = getenv("T_KEY_CREATE_FAILS") != NULL;
	if (second)
		CHECK(key_create_calls > 0, "pthread_key_create failures were injected");
	else
		CHECK(setspecific_calls > 0, "pthread_setspecific failures were injected");
	usdt_probe_release(d);
	usdt_provider_free(p);
	if (check_failed || second)
		return check_done();
	fflush(stdout);
	setenv("T_KEY_CREATE_FAILS", "1", 1);
	execl("/proc/self/exe", "t_key_fail", (char *)NULL);
	perror("exec");
	return 1;
#endif
}
