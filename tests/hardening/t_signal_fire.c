/*
 * t_signal_fire.c — firing from signal handlers on threads that manage
 * providers (issue 9, item 2).
 *
 * usdt.h allows usdt_fire_probe()/usdt_is_enabled() in signal handlers.
 * The first fire on a thread registers it as a reader; when that
 * registration took a lock, a handler that interrupted the same thread
 * while it held the lock (inside a disable's grace period, or inside the
 * registration itself) deadlocked: 23 of 40 processes hung.
 *
 * Each of T_PROCS (40) fresh processes (forked before the parent ever used
 * libusdt) starts short-lived manager threads one after another; each
 * thread arms a per-thread timer that delivers SIGALRM to it every 20 us
 * and then enables, disables, adds and removes probes, while the handler
 * fires and checks a probe. The timer's first expiry is random within the
 * first T_FIRST_MAX_NS, so the handler's first fire on each thread (the
 * one that registers the thread) lands anywhere inside the manager's work;
 * a background thread fires the managed provider's probe all the time, so
 * that disables really have readers to wait for. A process that does not finish within
 * T_LIMIT (10) seconds is killed and counted as hung.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "usdt.h"

#define T_THREADS_PER_PROC 20
#define T_OPS_PER_THREAD 30
#define T_TIMER_NS 20000
#define T_FIRST_MAX_NS 2000000

static usdt_probedef_t *fixed;
static atomic_long handler_fires;

static void on_alarm(int sig)
{
	(void)sig;
	usdt_probe_t *p = fixed->_probe;
	if (usdt_is_enabled(p) || 1)
		usdt_fire_probe(p, 1, (void *[]){ (void *)7 });
	atomic_fetch_add_explicit(&handler_fires, 1, memory_order_relaxed);
}

static void *manager(void *arg)
{
	usdt_provider_t *own = arg;
	unsigned seed = (unsigned)syscall(SYS_gettid) * 2654435761u ^ (unsigned)time(NULL);
	static const char *types[] = { "int" };
	timer_t tm;
	struct sigevent sev = { 0 };
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0)
		abort();
	struct itimerspec its = { { 0, T_TIMER_NS }, { 0, 1000 + rand_r(&seed) % T_FIRST_MAX_NS } };
	timer_settime(tm, 0, &its, NULL);
	for (int i = 0; i < T_OPS_PER_THREAD; i++) {
		usdt_probedef_t *pd = usdt_create_probe("f", "x", 1, types);
		if (pd == NULL || usdt_provider_add_probe(own, pd) != 0)
			abort();
		if (usdt_provider_enable(own) != 0)
			abort();
		if (usdt_provider_remove_probe(own, pd) != 0)
			abort();
		usdt_probe_release(pd);
		if (usdt_provider_disable(own) != 0)
			abort();
	}
	timer_delete(tm);
	return NULL;
}

static atomic_int busy_stop;
static usdt_probedef_t *busy_def;

static void *busy(void *arg)
{
	(void)arg;
	while (!atomic_load(&busy_stop))
		usdt_fire_probe(busy_def->_probe, 1, (void *[]){ (void *)8 });
	return NULL;
}

static int one_process(void)
{
	static const char *types[] = { "int" };
	struct sigaction sa = { 0 };
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	usdt_provider_t *fp = usdt_create_provider("sigfixed", "m");
	fixed = usdt_create_probe("f", "h", 1, types);
	usdt_provider_t *own = usdt_create_provider("sigown", "m");
	usdt_probedef_t *keep = usdt_create_probe("f", "keep", 1, types);
	if (!fp || !fixed || !own || !keep || usdt_provider_add_probe(fp, fixed) != 0 ||
	    usdt_provider_enable(fp) != 0 || usdt_provider_add_probe(own, keep) != 0)
		return 2;
	busy_def = keep;
	pthread_t bt;
	pthread_create(&bt, NULL, busy, NULL);
	for (int t = 0; t < T_THREADS_PER_PROC; t++) {
		pthread_t th;
		if (pthread_create(&th, NULL, manager, own) != 0)
			return 3;
		pthread_join(th, NULL);
	}
	atomic_store(&busy_stop, 1);
	pthread_join(bt, NULL);
	return atomic_load(&handler_fires) > 0 ? 0 : 4;
}

int main(void)
{
	int procs = getenv("T_PROCS") ? atoi(getenv("T_PROCS")) : 40;
	int limit = getenv("T_LIMIT") ? atoi(getenv("T_LIMIT")) : 10;
	int hung = 0, failed = 0;
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(one_process());
		int st = 0, waited = 0;
		while (waitpid(pid, &st, WNOHANG) == 0) {
			if (waited++ >= limit * 100) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				hung++;
				st = 0;
				goto next;
			}
			usleep(10000);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("# process %d: status %#x\n", i, st);
			failed++;
		}
next:;
	}
	printf("# %d processes: %d hung, %d failed\n", procs, hung, failed);
	CHECK(hung == 0, "no process hung (%d of %d did)", hung, procs);
	CHECK(failed == 0, "every process finished its work (%d failed)", failed);
	return check_done();
}
