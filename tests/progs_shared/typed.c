/*
 * typed.c — a target for the `usdt` command's tests (tests/tracers/
 * t_usdt_cmd.sh), linked with libusdt.so so that system-wide tracing
 * through libusdt:fire sees it too. It fires fixed values of every integer
 * width and signedness, strings and pointers, so that `usdt trace` output
 * can be compared exactly.
 *
 * Usage: typed [-f] PROVIDER
 *   Enables PROVIDER (module "typedmod") with the probes below, prints
 *   "READY <pid>", then fires each probe every FIRE_INTERVAL_US while a
 *   tracer is attached to it. With -f it forks once enabled: the child
 *   prints "CHILD <pid>" and fires too (through the inherited object). On
 *   SIGTERM the parent stops the child, frees the provider and exits 0.
 *
 *   ints(int8_t, uint8_t, int16_t)          -100 200 -30000
 *   ints2(uint16_t, int32_t, uint32_t)      60000 -2000000000 4000000000
 *   ints3(int64_t, uint64_t, char *)        -5000000000 18446744073709551615 "hello world"
 *   ptrs(void *, char *, bool)              0xdeadbeef "" 1
 *   all8(int8_t ... uint64_t, 8 arguments)  -1 255 -2 65535 -3 4294967295 -4 18446744073709551614
 *   req-start(int)                          7   (published as req__start)
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "usdt.h"

#define FIRE_INTERVAL_US 20000
#define NPROBES 6
#define W(v) ((void *)(intptr_t)(v))
#define U(v) ((void *)(uintptr_t)(v))

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int do_fork = argc == 3 && strcmp(argv[1], "-f") == 0;
	if (argc != 2 + do_fork)
		return 2;
	const char *pname = argv[1 + do_fork];
	static const char *t_ints[] = { "int8_t", "uint8_t", "int16_t" };
	static const char *t_ints2[] = { "uint16_t", "int32_t", "uint32_t" };
	static const char *t_ints3[] = { "int64_t", "uint64_t", "char *" };
	static const char *t_ptrs[] = { "void *", "char *", "bool" };
	static const char *t_all8[] = { "int8_t", "uint8_t", "int16_t", "uint16_t",
	                                "int32_t", "uint32_t", "int64_t", "uint64_t" };
	static const char *t_req[] = { "int" };
	char hello[32], empty[8];
	snprintf(hello, sizeof hello, "hello world");
	empty[0] = '\0';
	void *a_ints[] = { W(-100), U(200), W(-30000) };
	void *a_ints2[] = { U(60000), W(-2000000000), U(4000000000u) };
	void *a_ints3[] = { W(-5000000000ll), U(UINT64_MAX), hello };
	void *a_ptrs[] = { U(0xdeadbeef), empty, U(1) };
	void *a_all8[] = { W(-1), U(255), W(-2), U(65535), W(-3), U(4294967295u), W(-4), U(UINT64_MAX - 1) };
	void *a_req[] = { W(7) };
	struct { const char *name; size_t argc; const char **types; void **args; usdt_probedef_t *d; } p[NPROBES] = {
		{ "ints", 3, t_ints, a_ints, NULL }, { "ints2", 3, t_ints2, a_ints2, NULL },
		{ "ints3", 3, t_ints3, a_ints3, NULL }, { "ptrs", 3, t_ptrs, a_ptrs, NULL },
		{ "all8", 8, t_all8, a_all8, NULL }, { "req-start", 1, t_req, a_req, NULL },
	};
	signal(SIGTERM, on_term);
	usdt_provider_t *prov = usdt_create_provider(pname, "typedmod");
	if (prov == NULL) {
		printf("FAIL %s\n", usdt_last_errstr());
		return 1;
	}
	for (int i = 0; i < NPROBES; i++) {
		p[i].d = usdt_create_probe("main", p[i].name, p[i].argc, p[i].types);
		if (p[i].d == NULL || usdt_provider_add_probe(prov, p[i].d) != 0) {
			printf("FAIL %s %s\n", p[i].name, usdt_errstr(prov));
			return 1;
		}
	}
	if (usdt_provider_enable(prov) != 0) {
		printf("FAIL %s\n", usdt_errstr(prov));
		return 1;
	}
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	pid_t child = do_fork ? fork() : -1;
	if (child == 0) {
		printf("CHILD %d\n", (int)getpid());
		fflush(stdout);
	}
	while (!stop) {
		for (int i = 0; i < NPROBES; i++)
			if (usdt_is_enabled(p[i].d->probe))
				usdt_fire_probe(p[i].d->probe, p[i].argc, p[i].args);
		usleep(FIRE_INTERVAL_US);
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	for (int i = 0; i < NPROBES; i++)
		usdt_probe_release(p[i].d);
	usdt_provider_free(prov);
	return 0;
}
