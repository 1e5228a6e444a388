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
