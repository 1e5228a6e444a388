/*
 * t_fork_storm.c — fork() while other threads change providers (issue 9,
 * item 1).
 *
 * libusdt's locks must all be taken by one atfork prepare handler in one
 * order. With handlers registered lazily by each module, glibc took them in
 * reverse order of first use, so fork() could take the reader registry and
 * then wait for the groups lock while a thread inside regroup() held the
 * groups lock and waited for the registry: a deadlock within a second.
 *
 * Threads: one adds and removes a probe on an enabled provider, one enables
 * and disables another provider, one frees and re-creates a third, two
 * fire; the main thread forks in a loop, and each child fires, enables and
 * frees a provider of its own (every lock must be usable in the child)
 * before it exits. Runs T_SECONDS (default 10); the watchdog fails the test
 * if nothing progresses for 3 s. The child has its own watchdog (alarm).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "check.h"
#include "usdt.h"
#include "watchdog.h"

static atomic_int stop;
static usdt_provider_t *p_add, *p_toggle;
static usdt_probedef_t *d_fixed, *d_toggle;
static atomic_long n_add, n_toggle, n_recreate, n_fork, n_fire;
static const char *types1[] = { "int" };

static void *adder(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		usdt_probedef_t *pd = usdt_create_probe("f", "extra", 1, types1);
		if (pd == NULL || usdt_provider_add_probe(p_add, pd) != 0) {
			printf("# add failed: %s\n", usdt_errstr(p_add));
			abort();
		}
		if (usdt_provider_remove_probe(p_add, pd) != 0)
			abort();
		usdt_probe_release(pd);
		atomic_fetch_add(&n_add, 1);
		watchdog_tick();
	}
	return NULL;
}

static void *toggler(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (usdt_provider_enable(p_toggle) != 0 || usdt_provider_disable(p_toggle) != 0)
			abort();
		atomic_fetch_add(&n_toggle, 1);
		watchdog_tick();
	}
	return NULL;
}

static void *recreator(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		usdt_provider_t *p = usdt_create_provider("stormre", "m");
		usdt_probedef_t *pd = usdt_create_probe("f", "p", 1, types1);
		if (p == NULL || pd == NULL || usdt_provider_add_probe(p, pd) != 0 || usdt_provider_enable(p) != 0)
			abort();
		usdt_fire_probe(pd->probe, 1, (void *[]){ (void *)1 });
		usdt_probe_release(pd);
		usdt_provider_free(p);
		atomic_fetch_add(&n_recreate, 1);
		watchdog_tick();
	}
	return NULL;
}

static void *firer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		usdt_probe_t *pr = d_fixed->probe;
		if (usdt_is_enabled(pr))
			usdt_fire_probe(pr, 1, (void *[]){ (void *)2 });
		usdt_fire_probe(d_toggle->_probe, 1, (void *[]){ (void *)3 });
		atomic_fetch_add_explicit(&n_fire, 1, memory_order_relaxed);
	}
	return NULL;
}

static int child_work(void)
{
	alarm(5);
	usdt_fire_probe(d_fixed->_probe, 1, (void *[]){ (void *)4 });
	usdt_provider_t *p = usdt_create_provider("stormchild", "m");
	usdt_probedef_t *pd = usdt_create_probe("f", "c", 1, types1);
	if (p == NULL || pd == NULL || usdt_provider_add_probe(p, pd) != 0 || usdt_provider_enable(p) != 0)
		return 1;
	usdt_fire_probe(pd->probe, 1, (void *[]){ (void *)5 });
	if (usdt_provider_disable(p_add) != 0)
		return 2;
	usdt_probe_release(pd);
	usdt_provider_free(p);
	return 0;
}

int main(void)
{
	int seconds = getenv("T_SECONDS") ? atoi(getenv("T_SECONDS")) : 10;
	p_add = usdt_create_provider("stormadd", "m");
	p_toggle = usdt_create_provider("stormtog", "m");
	d_fixed = usdt_create_probe("f", "fixed", 1, types1);
	d_toggle = usdt_create_probe("f", "tog", 1, types1);
	CHECK(p_add && p_toggle && d_fixed && d_toggle, "created");
	CHECK(usdt_provider_add_probe(p_add, d_fixed) == 0 && usdt_provider_enable(p_add) == 0 &&
	      usdt_provider_add_probe(p_toggle, d_toggle) == 0, "enabled");
	watchdog_start("fork storm", 3);
	pthread_t t[5];
	void *(*fn[5])(void *) = { adder, toggler, recreator, firer, firer };
	for (int i = 0; i < 5; i++)
		pthread_create(&t[i], NULL, fn[i], NULL);
	time_t end = time(NULL) + seconds;
	int bad = 0;
	while (time(NULL) < end) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(child_work());
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("# child %d: status %#x\n", (int)pid, st);
			bad++;
		}
		atomic_fetch_add(&n_fork, 1);
		watchdog_tick();
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	printf("# %ld forks, %ld add/remove, %ld enable/disable, %ld re-creations, %ld fires in %d s\n",
	       atomic_load(&n_fork), atomic_load(&n_add), atomic_load(&n_toggle), atomic_load(&n_recreate),
	       atomic_load(&n_fire), seconds);
	CHECK(bad == 0, "every child could fire, enable, disable and free (%d bad)", bad);
	CHECK(atomic_load(&n_fork) > 10 && atomic_load(&n_add) > 10 && atomic_load(&n_toggle) > 10,
	      "every thread made progress");
	usdt_provider_free(p_add);
	usdt_provider_free(p_toggle);
	usdt_probe_release(d_fixed);
	usdt_probe_release(d_toggle);
	return check_done();
}
