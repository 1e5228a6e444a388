/*
 * many_providers.c — a process with many providers, for the tracer test
 * of loading at scale (tests/tracers/t_many_providers.sh).
 *
 * usage: many_providers N
 * Enables N providers named "mp00000", "mp00001", ..., each with one
 * probe "p" taking one int, prints "READY <pid>", then fires every probe
 * with its provider's index every 20 ms until SIGTERM (at most 120 s).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"

#define ROUNDS_MAX 6000          /* 20 ms each: 120 s */

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	if (n <= 0 || n > 100000) {
		fprintf(stderr, "usage: many_providers N (1..100000)\n");
		return 2;
	}
	usdt_provider_t **prov = calloc((size_t)n, sizeof *prov);
	usdt_probedef_t **pd = calloc((size_t)n, sizeof *pd);
	const char *types[1] = { "int" };
	if (prov == NULL || pd == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "mp%05d", i);
		prov[i] = usdt_create_provider(name, "many");
		pd[i] = usdt_create_probe("f", "p", 1, types);
		if (prov[i] == NULL || pd[i] == NULL || usdt_provider_add_probe(prov[i], pd[i]) != 0 ||
		    usdt_provider_enable(prov[i]) != 0) {
			fprintf(stderr, "provider %d: %s\n", i, prov[i] ? usdt_errstr(prov[i]) : usdt_last_errstr());
			return 1;
		}
	}
	signal(SIGTERM, on_term);
	printf("READY %ld\n", (long)getpid());
	fflush(stdout);
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	for (int round = 0; !stop && round < ROUNDS_MAX; round++) {
		for (int i = 0; i < n; i++) {
			void *args[1] = { (void *)(intptr_t)i };
			usdt_fire_probe(pd[i]->probe, 1, args);
		}
		nanosleep(&tick, NULL);
	}
	for (int i = 0; i < n; i++) {
		usdt_probe_release(pd[i]);
		usdt_provider_free(prov[i]);
	}
	free(prov);
	free(pd);
	return 0;
}
