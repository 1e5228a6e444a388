/*
 * sysfire.c — a target linked with libusdt.so (not libusdt.a), for the
 * system-wide tests (tests/tracers/t_system_wide.sh): a tracer attached to
 * the library file itself (libusdt:fire, provider_enable/disable) sees this
 * process's runtime probes without knowing its pid.
 *
 * Usage: sysfire PROVIDER VALUE   enables PROVIDER with probe req(int,
 * char *) and fires (VALUE, "hello-PROVIDER") every 10 ms; prints
 * "ENABLED" the first time usdt_is_enabled() says a tracer is there; on
 * SIGTERM disables and frees the provider (libusdt:provider_disable) and
 * exits.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "usdt.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	static const char *types[] = { "int", "char *" };
	char msg[96];
	snprintf(msg, sizeof msg, "hello-%s", argv[1]);
	signal(SIGTERM, on_term);
	usdt_provider_t *p = usdt_create_provider(argv[1], "sys");
	usdt_probedef_t *d = usdt_create_probe("f", "req", 2, types);
	if (p == NULL || d == NULL || usdt_provider_add_probe(p, d) != 0 || usdt_provider_enable(p) != 0) {
		printf("FAIL %s\n", usdt_errstr(p));
		return 1;
	}
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	int said = 0;
	long value = atol(argv[2]);
	while (!stop) {
		if (usdt_is_enabled(d->probe) && !said) {
			printf("ENABLED\n");
			fflush(stdout);
			said = 1;
		}
		usdt_fire_probe(d->probe, 2, (void *[]){ (void *)(intptr_t)value, msg });
		usleep(10000);
	}
	usdt_probe_release(d);
	usdt_provider_free(p);
	printf("FREED\n");
	return 0;
}
