/*
 * dof_test.h — small helpers shared by the DOF backend tests (tests/dof):
 * check macros that print what they verify, and a stub arena that lays out
 * probe and is-enabled stubs at known addresses.
 */
#ifndef USDT_DOF_TEST_H
#define USDT_DOF_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dof/dof.h"

static int t_failures;
static int t_checks;

#define CHECK(cond, ...) do { \
	t_checks++; \
	if (cond) { printf("ok   "); printf(__VA_ARGS__); printf("\n"); } \
	else { t_failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
	       printf(__VA_ARGS__); printf("\n"); } \
} while (0)

#define T_DONE() do { \
	printf("%d checks, %d failed\n", t_checks, t_failures); \
	return t_failures ? 1 : 0; \
} while (0)

static const usdt_dof_profile_t t_profiles[USDT_DOF_NPROFILES] = {
	USDT_DOF_ILLUMOS, USDT_DOF_FREEBSD, USDT_DOF_MACOS, USDT_DOF_LINUX
};

/* Every type string the core accepts (include/usdt.h). */
static const char *const t_all_types[] = {
	"int", "char *", "const char *", "int8_t", "uint8_t", "int16_t",
	"uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t", "long",
	"unsigned long", "uintptr_t", "intptr_t", "size_t", "ssize_t",
	"void *", "unsigned int", "short", "unsigned short", "char",
	"unsigned char", "long long", "unsigned long long", "bool",
	"signed char", "off_t", "pid_t", "uid_t", "gid_t", "_Bool",
	"const void *", "unsigned", "signed int", "long int",
};
#define T_NTYPES (sizeof t_all_types / sizeof t_all_types[0])

#endif

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * A stub arena: one memfd (a named, file-backed mapping, as the Linux
 * helper daemon requires) holding a probe stub and an is-enabled stub per
 * probe, followed by room for the document. Built as the provider code will
 * do it; the validator's in-process checks read the stub bytes from here.
 */
#define T_ARENA_DOC_MAX (256u << 10)
struct t_arena {
	uint8_t *map;
	size_t size;
	size_t nprobes;
	uint8_t *doc;                 /* where the document is copied */
	uint64_t *probe_sites, *enabled_sites;
};

static inline int t_arena_open(struct t_arena *a, usdt_dof_profile_t prof,
			size_t nprobes)
{
	size_t stubs = nprobes * 2 * USDT_DOF_STUB_MAX;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	stubs = (stubs + pg - 1) / pg * pg;
	memset(a, 0, sizeof *a);
	a->size = stubs + T_ARENA_DOC_MAX;
	int fd = memfd_create("usdt-dof-test", 0);
	if (fd < 0 || ftruncate(fd, (off_t)a->size) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	a->map = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (a->map == MAP_FAILED)
		return -1;
	a->nprobes = nprobes;
	a->doc = a->map + stubs;
	a->probe_sites = calloc(nprobes + 1, sizeof(uint64_t));
	a->enabled_sites = calloc(nprobes + 1, sizeof(uint64_t));
	for (size_t i = 0; i < nprobes; i++) {
		size_t site;
		uint8_t *p = a->map + 2 * i * USDT_DOF_STUB_MAX;
		if (!usdt_dof_stub_probe(prof, p, USDT_DOF_STUB_MAX, &site))
			return -1;
		a->probe_sites[i] = (uint64_t)(uintptr_t)p + site;
		p += USDT_DOF_STUB_MAX;
		if (!usdt_dof_stub_isenabled(prof, p, USDT_DOF_STUB_MAX, &site))
			return -1;
		a->enabled_sites[i] = (uint64_t)(uintptr_t)p + site;
	}
	return 0;
}

static inline uint64_t t_probe_stub(const struct t_arena *a, size_t i)
{
	return (uint64_t)(uintptr_t)(a->map + 2 * i * USDT_DOF_STUB_MAX);
}

static inline uint64_t t_enabled_stub(const struct t_arena *a, size_t i)
{
	return t_probe_stub(a, i) + USDT_DOF_STUB_MAX;
}

static inline void t_arena_close(struct t_arena *a)
{
	if (a->map && a->map != MAP_FAILED)
		munmap(a->map, a->size);
	free(a->probe_sites);
	free(a->enabled_sites);
	memset(a, 0, sizeof *a);
}
