/*
 * names.h — the rules for provider, probe, function and module names, and
 * the form a probe name takes for Linux tracers ('-' becomes "__").
 * One set of rules for every backend, so a definition that works on Linux
 * also works with DTrace (see usdt.h and README "Names" for the rules in
 * prose).
 */
#ifndef USDT_NAMES_H
#define USDT_NAMES_H
#include <stddef.h>
#include <stdint.h>
#include "usdt_internal.h"

enum usdt_name_kind { USDT_NAME_PROVIDER, USDT_NAME_PROBE, USDT_NAME_FUNCTION, USDT_NAME_MODULE };

/* 0 if `name` is acceptable for `kind`; else -1 with a message in err
 * (USDT_ERRMSG_MAX bytes) saying what is wrong and where. */
int usdt_name_check(enum usdt_name_kind kind, const char *name, char *err);
/* dtrace-utils stores each probe as a path provider/module/function/name
 * (NAME_MAX 255); add_probe refuses a tuple that would not fit. */
#define USDT_DTRACE_TUPLE_MAX 255

/* The Linux form of a probe name ("request-start" -> "request__start"):
 * its length (without NUL), and a copy into dst (usdt_name_linux_len + 1
 * bytes; returns the address of the terminating NUL). */
size_t usdt_name_linux_len(const char *name);
char *usdt_name_linux(char *dst, const char *name);
/* 1 if two probe names have the same Linux form ("a-b", "a__b"), else 0. */
int usdt_name_linux_eq(const char *a, const char *b);
/* FNV-1a of the Linux form of name, continuing from h: names with the same
 * Linux form hash alike (for the provider's name index). */
#define USDT_NAME_FNV_PRIME 0x100000001b3ull
uint64_t usdt_name_linux_hash(uint64_t h, const char *name);
#endif
