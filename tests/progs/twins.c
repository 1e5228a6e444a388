/*
 * twins.c — two providers with the same name (modules "a" and "b"), as two
 * copies of one library in a process would create. Probe p exists in both
 * (fired with 1 by a, 2 by b); only_a and only_b in one each. Fires every
 * 20 ms; prints "READY <pid>"; SIGUSR1 disables provider a and prints
 * "A DISABLED".
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"

static volatile sig_atomic_t stop, drop_a;
static void on_term(int s) { (void)s; stop = 1; }
static void on_usr1(int s) { (void)s; drop_a = 1; }

static usdt_probedef_t *probe(usdt_provider_t *prov, const char *name)
{
	const char *types[] = { "int" };
	usdt_probedef_t *pd = usdt_create_probe("f", name, 1, types);
	usdt_provider_add_probe(prov, pd);
	usdt_probe_release(pd);         /* the provider keeps it */
	return pd;
}

int main(void)
{
	usdt_provider_t *a = usdt_create_provider("twin", "a"), *b = usdt_create_provider("twin", "b");
	usdt_probedef_t *pa = probe(a, "p"), *oa = probe(a, "only_a");
	usdt_probedef_t *pb = probe(b, "p"), *ob = probe(b, "only_b");
	if (usdt_provider_enable(a) != 0 || usdt_provider_enable(b) != 0) {
		fprintf(stderr, "enable: %s / %s\n", usdt_errstr(a), usdt_errstr(b));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	printf("READY %ld\n", (long)getpid());
	void *one[] = { (void *)1 }, *two[] = { (void *)2 };
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	while (!stop) {
		if (drop_a && a->enabled) {
			usdt_provider_disable(a);
			printf("A DISABLED\n");
		}
		usdt_fire_probe(pa->probe, 1, one);
		usdt_fire_probe(oa->probe, 1, one);
		usdt_fire_probe(pb->probe, 1, two);
		usdt_fire_probe(ob->probe, 1, two);
		nanosleep(&nap, NULL);
	}
	usdt_provider_free(a);
	usdt_provider_free(b);
	return 0;
}
