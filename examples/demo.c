/*
 * demo.c — the libusdt demo: a pretend web server that defines a provider
 * "webdemo" at run time and fires its probes in a loop.
 *
 *   webdemo:request(int status, char *method, char *path, int64_t bytes)
 *   webdemo:latency(uint64_t usec, char *route)
 *   webdemo:tick(uint32_t n)            (no tracer? its arguments are not
 *                                        even computed: usdt_is_enabled)
 *
 * usage: demo [SECONDS]   (default: run until SIGINT/SIGTERM)
 * Trace it:  bpftrace -p $(pgrep -n demo) -e 'usdt:*:webdemo:request
 *              { printf("%d %s %s %d\n", arg0, str(arg1), str(arg2), arg3); }'
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static usdt_probedef_t *add(usdt_provider_t *prov, const char *name, size_t argc, const char **types)
{
	usdt_probedef_t *pd = usdt_create_probe("handler", name, argc, types);
	if (pd == NULL || usdt_provider_add_probe(prov, pd) != 0) {
		fprintf(stderr, "demo: %s\n", pd == NULL ? usdt_last_errstr() : usdt_errstr(prov));
		exit(1);
	}
	return pd;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	usdt_provider_t *prov = usdt_create_provider("webdemo", "demo");
	if (prov == NULL) {
		fprintf(stderr, "demo: %s\n", usdt_last_errstr());
		return 1;
	}
	const char *req_types[] = { "int", "char *", "char *", "int64_t" };
	const char *lat_types[] = { "uint64_t", "char *" };
	const char *tick_types[] = { "uint32_t" };
	usdt_probedef_t *request = add(prov, "request", 4, req_types);
	usdt_probedef_t *latency = add(prov, "latency", 2, lat_types);
	usdt_probedef_t *tick = add(prov, "tick", 1, tick_types);
	if (usdt_provider_enable(prov) != 0) {
		fprintf(stderr, "demo: enable: %s\n", usdt_errstr(prov));
		return 1;
	}
	printf("demo: pid %ld, provider webdemo enabled with probes request, latency, tick\n", (long)getpid());

	static const char *methods[] = { "GET", "POST", "DELETE" };
	static const char *paths[] = { "/", "/api/users", "/api/orders/42", "/static/app.js" };
	static const int statuses[] = { 200, 201, 404, 500 };
	struct timespec nap = { 0, 100 * 1000 * 1000 }, t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t n = 1; !stop; n++) {
		int status = statuses[n % 4];
		const char *method = methods[n % 3], *path = paths[n % 4];
		int64_t bytes = (int64_t)(n * 137) % 5000 - 10;
		void *rargs[] = { (void *)(intptr_t)status, (void *)method, (void *)path, (void *)(intptr_t)bytes };
		usdt_fire_probe(request->probe, 4, rargs);

		uint64_t usec = 100 + (n * 7919) % 900;
		void *largs[] = { (void *)(uintptr_t)usec, (void *)path };
		usdt_fire_probe(latency->probe, 2, largs);

		if (usdt_is_enabled(tick->probe)) {     /* only build arguments when traced */
			void *targs[] = { (void *)(uintptr_t)n };
			usdt_fire_probe(tick->probe, 1, targs);
		}
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 && (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			break;
	}
	usdt_probe_release(request);
	usdt_probe_release(latency);
	usdt_probe_release(tick);
	usdt_provider_free(prov);
	printf("demo: provider freed, exiting\n");
	return 0;
}
