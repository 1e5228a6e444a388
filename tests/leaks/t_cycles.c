/*
 * t_cycles.c — the seed's memory test scenario, many times over: create a
 * provider, create three probes, add them, enable, fire each, disable,
 * free the provider and release the probes. Every T_SAMPLE cycles
 * (default 10 000) it counts the open file descriptors (/proc/self/fd),
 * the mappings (/proc/self/maps lines) and libusdt's files in LIBUSDT_DIR
 * (when set) and requires every sample to equal the first one (taken
 * after T_SAMPLE cycles, not after the first cycle: under valgrind the
 * tool's own mappings settle during the first thousands of cycles).
 * T_CYCLES sets the number of cycles (default 100 000); at least two
 * samples are needed.
 *
 * Run directly by tests/run (constant resources natively) and under
 * valgrind memcheck by t_valgrind_cycles.sh (0 bytes lost).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proc_count.h"
#include "usdt.h"

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	return v != NULL && *v ? atol(v) : def;
}

int main(void)
{
	long cycles = env_long("T_CYCLES", 100000), sample = env_long("T_SAMPLE", 10000);
	const char *dir = getenv("LIBUSDT_DIR");
	const char *t0[] = { "int", "char *" };
	const char *t1[] = { "uint64_t", "int8_t", "const char *" };
	int fds0 = 0, maps0 = 0, files0 = 0, samples = 0, mismatches = 0, failures = 0;
	long fires = 0;
	if (sample <= 0)
		sample = 10000;
	for (long i = 0; i < cycles; i++) {
		usdt_provider_t *p = usdt_create_provider("leaks", "cycles");
		usdt_probedef_t *pd[3] = {
			usdt_create_probe("f", "first", 2, t0),
			usdt_create_probe("f", "second", 3, t1),
			usdt_create_probe("g", "third", 0, NULL),
		};
		if (p == NULL || pd[0] == NULL || pd[1] == NULL || pd[2] == NULL) {
			failures++;
			break;
		}
		for (int k = 0; k < 3; k++)
			failures += usdt_provider_add_probe(p, pd[k]) != 0;
		if (usdt_provider_enable(p) != 0) {
			printf("# cycle %ld: enable: %s\n", i, usdt_errstr(p));
			failures++;
		}
		void *argv[3] = { (void *)(intptr_t)i, (void *)"str", (void *)"x" };
		for (int k = 0; k < 3; k++) {
			if (usdt_is_enabled(pd[k]->probe))
				failures++;        /* nothing is attached */
			usdt_fire_probe(pd[k]->probe, pd[k]->argc, argv);
			fires++;
		}
		failures += usdt_provider_disable(p) != 0;
		usdt_provider_free(p);
		for (int k = 0; k < 3; k++)
			usdt_probe_release(pd[k]);
		if (i == 0 || (i + 1) % sample == 0 || i + 1 == cycles) {
			int fds = count_fds_linking(NULL), maps = count_maps_lines(UNDER_SANITIZER ? "libusdt" : NULL), files = count_dir_entries(dir, "libusdt-");
			if (i == 0) {
				printf("# after cycle 1: %d fds, %d mappings, %d files (not compared)\n", fds, maps, files);
				continue;
			}
			if (samples == 0) {
				fds0 = fds;
				maps0 = maps;
				files0 = files;
			} else if (fds != fds0 || maps != maps0 || files != files0) {
				mismatches++;
			}
			samples++;
			printf("# after cycle %ld: %d fds, %d mappings, %d files\n", i + 1, fds, maps, files);
		}
	}
	CHECK(failures == 0, "%ld create/add/enable/fire/disable/free cycles (%ld fires): %d failures", cycles, fires,
	      failures);
	CHECK(mismatches == 0 && samples >= 2, "fds (%d), mappings (%d) and files (%d) constant over %d samples",
	      fds0, maps0, files0, samples);
	return check_done();
}
