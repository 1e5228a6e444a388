/*
 * target.c — a traced process for the tracer tests.
 *
 * usage: target [-t SECONDS] [-i INTERVAL_MS] SPEC...
 *   SPEC = provider:probe[:type,type,...]   (types as usdt.h; "-" = none)
 * Creates the providers and probes, enables them, prints
 *   READY <pid>
 *   EXPECT <provider>:<probe> <v1> <v2> ...
 * (one EXPECT line per probe: the arguments every fire passes, integers as
 * the 64-bit hex value a tracer reads after sign/zero extension, strings
 * in double quotes), then fires every probe each INTERVAL_MS until SIGTERM
 * or SECONDS elapse, printing "STATE <provider>:<probe> <0|1>" whenever
 * usdt_is_enabled() changes. Exits 0.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"
#include "progs/values.h"

#define MAX_SPECS 64

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

struct probe_run {
	usdt_provider_t *prov;
	usdt_probedef_t *pd;
	void *argv[USDT_ARG_MAX];
	int state;
};

int main(int argc, char **argv)
{
	double seconds = 60;
	int interval = 50, opt;
	while ((opt = getopt(argc, argv, "t:i:")) != -1) {
		if (opt == 't')
			seconds = atof(optarg);
		else if (opt == 'i')
			interval = atoi(optarg);
		else
			return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);

	static struct probe_run runs[MAX_SPECS];
	usdt_provider_t *provs[MAX_SPECS];
	int nruns = 0, nprovs = 0;
	static char strbuf[MAX_SPECS][USDT_ARG_MAX][32];

	for (int a = optind; a < argc && nruns < MAX_SPECS; a++) {
		char spec[512];
		snprintf(spec, sizeof spec, "%s", argv[a]);
		char *pname = strtok(spec, ":"), *probe = strtok(NULL, ":"), *tlist = strtok(NULL, ":");
		if (pname == NULL || probe == NULL) {
			fprintf(stderr, "bad spec %s\n", argv[a]);
			return 2;
		}
		usdt_provider_t *prov = NULL;
		for (int i = 0; i < nprovs; i++)
			if (strcmp(provs[i]->name, pname) == 0)
				prov = provs[i];
		if (prov == NULL) {
			prov = usdt_create_provider(pname, "target");
			if (prov == NULL) {
				fprintf(stderr, "create_provider: %s\n", usdt_last_errstr());
				return 1;
			}
			provs[nprovs++] = prov;
		}
		const char *types[USDT_ARG_MAX];
		size_t n = 0;
		if (tlist != NULL && strcmp(tlist, "-") != 0)
			for (char *t = strtok(tlist, ","); t != NULL && n < USDT_ARG_MAX; t = strtok(NULL, ","))
				types[n++] = t;
		usdt_probedef_t *pd = usdt_create_probe(probe, probe, n, types);
		if (pd == NULL) {
			fprintf(stderr, "create_probe: %s\n", usdt_last_errstr());
			return 1;
		}
		if (usdt_provider_add_probe(prov, pd) != 0) {
			fprintf(stderr, "add_probe: %s\n", usdt_errstr(prov));
			return 1;
		}
		struct probe_run *r = &runs[nruns];
		r->prov = prov;
		r->pd = pd;
		printf("EXPECT %s:%s", pname, probe);
		for (size_t i = 0; i < n; i++) {
			struct test_value v = test_value_for(types[i], i, strbuf[nruns][i], sizeof strbuf[nruns][i]);
			r->argv[i] = v.word;
			if (v.is_string)
				printf(" \"%s\"", (const char *)v.word);
			else
				printf(" %" PRIx64, v.expect);
		}
		printf("\n");
		nruns++;
	}
	for (int i = 0; i < nprovs; i++) {
		if (usdt_provider_enable(provs[i]) != 0) {
			fprintf(stderr, "enable %s: %s\n", provs[i]->name, usdt_errstr(provs[i]));
			return 1;
		}
	}
	printf("READY %ld\n", (long)getpid());

	struct timespec t0, now, nap = { interval / 1000, (interval % 1000) * 1000000L };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		for (int i = 0; i < nruns; i++) {
			struct probe_run *r = &runs[i];
			int on = usdt_is_enabled(r->pd->probe);
			if (on != r->state) {
				printf("STATE %s:%s %d\n", r->prov->name, r->pd->name, on);
				r->state = on;
			}
			usdt_fire_probe(r->pd->probe, r->pd->argc, r->argv);
		}
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			break;
	}
	for (int i = 0; i < nruns; i++)
		usdt_probe_release(runs[i].pd);
	for (int i = 0; i < nprovs; i++)
		usdt_provider_free(provs[i]);
	printf("DONE\n");
	return 0;
}
