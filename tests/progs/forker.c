/*
 * forker.c — fork with an enabled provider.
 * Enables provider "fk" (probe p(int who, char *name)), forks, and both
 * processes fire p every 20 ms with who = 1 (parent) or 2 (child).
 * Prints "READY <parent> <child>". On SIGUSR1 the child disables and frees
 * its provider and prints "CHILD FREED"; it keeps running (and keeps
 * calling usdt_fire_probe on its stale pointer) until SIGTERM.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usdt.h"

static volatile sig_atomic_t stop, drop;
static void on_term(int s) { (void)s; stop = 1; }
static void on_usr1(int s) { (void)s; drop = 1; }

int main(void)
{
	const char *types[] = { "int", "char *" };
	usdt_provider_t *prov = usdt_create_provider("fk", NULL);
	usdt_probedef_t *pd = usdt_create_probe("f", "p", 2, types);
	if (usdt_provider_add_probe(prov, pd) != 0 || usdt_provider_enable(prov) != 0) {
		fprintf(stderr, "%s\n", usdt_errstr(prov));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGUSR1, on_usr1);
	usdt_probe_t *probe = pd->probe;
	pid_t child = fork();
	int who = child == 0 ? 2 : 1;
	if (child > 0)
		printf("READY %ld %ld\n", (long)getpid(), (long)child);
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	/* The string is written by this process, so its page is present in its
	 * page tables: after fork() the kernel does not copy page-table entries
	 * of file-backed mappings, and a tracer's BPF program cannot fault a
	 * page in (str() would read "" from an untouched string literal). */
	char name[16];
	snprintf(name, sizeof name, "%s", who == 1 ? "parent" : "child");
	while (!stop) {
		if (drop && prov != NULL) {
			usdt_provider_free(prov);
			prov = NULL;
			printf("CHILD FREED\n");
		}
		void *argv[] = { (void *)(intptr_t)who, (void *)name };
		usdt_fire_probe(probe, 2, argv);
		nanosleep(&nap, NULL);
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	usdt_provider_free(prov);
	usdt_probe_release(pd);
	return 0;
}
