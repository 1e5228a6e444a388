/*
 * fork_gdb.c — a child whose parent reuses the descriptor number of an
 * object the child inherited (tests/tracers/t_gdb_fork.sh).
 *
 * Enables provider "gfa" (probe a(int)), forks. The child fires a every
 * 20 ms until SIGTERM. The parent then frees gfa (closing its memfd) and
 * enables "gfb" (probe b(int)), whose memfd takes the number gfa had, and
 * prints "READY <parent> <child> <fd of gfa> <fd of gfb>". A tracer that
 * follows the child's inherited link-map name /proc/<parent>/fd/N would
 * find the parent's gfb there. Exits on SIGTERM (and stops the child).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"

#define FD_SCAN_MAX 1024

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

/* The descriptor whose link contains `needle`, or -1. */
static int fd_linking(const char *needle)
{
	for (int fd = 0; fd < FD_SCAN_MAX; fd++) {
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof target - 1);
		if (len > 0) {
			target[len] = '\0';
			if (strstr(target, needle) != NULL)
				return fd;
		}
	}
	return -1;
}

static usdt_provider_t *enable(const char *prov, const char *probe, usdt_probedef_t **pd)
{
	const char *types[] = { "int" };
	usdt_provider_t *p = usdt_create_provider(prov, "m");
	*pd = usdt_create_probe("f", probe, 1, types);
	if (usdt_provider_add_probe(p, *pd) != 0 || usdt_provider_enable(p) != 0) {
		fprintf(stderr, "enable %s: %s\n", prov, usdt_errstr(p));
		return NULL;
	}
	return p;
}

int main(void)
{
	usdt_probedef_t *a, *b;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	usdt_provider_t *pa = enable("gfa", "a", &a);
	if (pa == NULL)
		return 1;
	int fda = fd_linking("memfd:libusdt:gfa");
	pid_t child = fork();
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	if (child == 0) {
		while (!stop) {
			void *argv[] = { (void *)(intptr_t)2 };
			usdt_fire_probe(a->probe, 1, argv);
			nanosleep(&nap, NULL);
		}
		return 0;
	}
	usdt_provider_free(pa);
	usdt_probe_release(a);
	usdt_provider_t *pb = enable("gfb", "b", &b);
	if (pb == NULL)
		return 1;
	printf("READY %ld %ld %d %d\n", (long)getpid(), (long)child, fda, fd_linking("memfd:libusdt:gfb"));
	while (!stop) {
		void *argv[] = { (void *)(intptr_t)1 };
		usdt_fire_probe(b->probe, 1, argv);
		nanosleep(&nap, NULL);
	}
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	usdt_provider_free(pb);
	usdt_probe_release(b);
	return 0;
}
