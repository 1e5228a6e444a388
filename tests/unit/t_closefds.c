/*
 * t_closefds.c — a program that closes libusdt's descriptors behind its
 * back (daemons closing every fd, dup2 over them), then keeps using the
 * library (issue 9, item 4).
 *
 * Provider A is enabled; its memfd is closed; provider B (more probes,
 * so a larger object) is enabled and its new memfd gets A's old number.
 * The name dlopen() is given, /proc/<pid>/fd/N, is then the one A was
 * loaded under, and glibc would hand back A's object: B's bindings would
 * point past A's mapping (SIGBUS on is-enabled). Checked: B is really
 * mapped, every B probe can be tested and fired, freeing A does not close
 * the descriptor (now B's) A once had, and after the program dup2()s
 * /dev/null over B's descriptor, freeing B leaves the program's /dev/null
 * open. Each scenario runs in a child so that a crash is reported as a
 * failed check rather than killing the test.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc_count.h"
#include "usdt.h"

/* B gets enough probes that its semaphores lie beyond A's whole object. */
#define B_PROBES 600
#define NAME_MAX_LEN 32

/* The descriptor whose /proc/self/fd link contains `needle`, or -1. */
static int fd_linking(const char *needle)
{
	for (int fd = 0; fd < 1024; fd++) {
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strstr(target, needle) != NULL)
			return fd;
	}
	return -1;
}

static int fd_is(int fd, const char *needle)
{
	char path[64], target[256];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t len = readlink(path, target, sizeof target - 1);
	if (len <= 0)
		return 0;
	target[len] = '\0';
	return strstr(target, needle) != NULL;
}

static usdt_provider_t *make(const char *name, int nprobes, usdt_probedef_t **defs)
{
	const char *types[] = { "int" };
	usdt_provider_t *p = usdt_create_provider(name, "m");
	for (int i = 0; i < nprobes; i++) {
		char pn[NAME_MAX_LEN];
		snprintf(pn, sizeof pn, "p%d", i);
		defs[i] = usdt_create_probe("f", pn, 1, types);
		if (usdt_provider_add_probe(p, defs[i]) != 0)
			return NULL;
	}
	if (usdt_provider_enable(p) != 0) {
		printf("# enable %s: %s\n", name, usdt_errstr(p));
		return NULL;
	}
	return p;
}

static int scenario(void)
{
	static usdt_probedef_t *a_defs[1], *b_defs[B_PROBES];
	usdt_provider_t *a = make("cfa", 1, a_defs);
	CHECK(a != NULL, "provider A enabled");
	int na = fd_linking("memfd:libusdt:cfa");
	CHECK(na >= 0, "A's memfd is descriptor %d", na);
	if (a == NULL || na < 0)
		return check_done();
	close(na);                          /* the program closes every fd */

	usdt_provider_t *b = make("cfb", B_PROBES, b_defs);
	CHECK(b != NULL, "provider B enabled after A's descriptor was closed");
	if (b == NULL)
		return check_done();
	int nb = fd_linking("memfd:libusdt:cfb");
	CHECK(nb >= 0, "B's memfd is open (descriptor %d)", nb);
	CHECK(count_maps_lines("memfd:libusdt:cfb") > 0, "B's object is mapped (not A's object returned by name)");
	int sum = 0;
	for (int i = 0; i < B_PROBES; i++) {
		sum += usdt_is_enabled(b_defs[i]->probe);
		void *argv[] = { (void *)(intptr_t)i };
		usdt_fire_probe(b_defs[i]->probe, 1, argv);
	}
	CHECK(sum == 0, "is-enabled and fire on all %d probes of B (no tracer: %d enabled)", B_PROBES, sum);

	usdt_provider_free(a);
	CHECK(nb < 0 || fd_is(nb, "memfd:libusdt:cfb"), "freeing A left B's descriptor %d open", nb);
	CHECK(usdt_is_enabled(b_defs[B_PROBES - 1]->probe) == 0, "B still works after A was freed");

	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(nb >= 0 && dup2(devnull, nb) == nb, "the program dup2()s /dev/null over B's descriptor %d", nb);
	close(devnull);
	usdt_provider_free(b);
	CHECK(fd_is(nb, "/dev/null"), "freeing B left the program's /dev/null open at descriptor %d", nb);
	CHECK(count_maps_lines("memfd:libusdt:") == 0, "nothing of libusdt is mapped any more");
	usdt_probe_release(a_defs[0]);
	for (int i = 0; i < B_PROBES; i++)
		usdt_probe_release(b_defs[i]);
	return check_done();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(scenario());
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status)) {
		CHECK(0, "the scenario was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
		return check_done();
	}
	return WEXITSTATUS(status);
}
