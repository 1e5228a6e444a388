/*
 * closefds.c — a daemon-like target for tests/tracers/t_closefds_heal.sh:
 * enables provider healA (probe tick(int), fired with 42), then closes
 * every descriptor above 2 (what daemons do), then enables provider healB
 * (probe tock(int), fired with 7), prints READY and fires both every 10 ms
 * until killed.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

#include "usdt.h"

int main(void)
{
	static const char *types[] = { "int" };
	usdt_provider_t *a = usdt_create_provider("healA", "m");
	usdt_probedef_t *ta = usdt_create_probe("f", "tick", 1, types);
	if (a == NULL || ta == NULL || usdt_provider_add_probe(a, ta) != 0 || usdt_provider_enable(a) != 0) {
		printf("enable A: %s\n", usdt_errstr(a));
		return 1;
	}
	fflush(stdout);
	syscall(SYS_close_range, 3u, ~0u, 0u);      /* the daemon's close-all */
	usdt_provider_t *b = usdt_create_provider("healB", "m");
	usdt_probedef_t *tb = usdt_create_probe("f", "tock", 1, types);
	if (b == NULL || tb == NULL || usdt_provider_add_probe(b, tb) != 0 || usdt_provider_enable(b) != 0) {
		printf("enable B: %s\n", usdt_errstr(b));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		usdt_fire_probe(ta->probe, 1, (void *[]){ (void *)(intptr_t)42 });
		usdt_fire_probe(tb->probe, 1, (void *[]){ (void *)(intptr_t)7 });
		usleep(10000);
	}
}
