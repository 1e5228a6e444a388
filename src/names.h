/*
 * names.h — the rules for provider, probe, function and module names.
 * One set of rules for every backend, so a definition that works on Linux
 * also works with DTrace (see usdt.h for the rules in prose).
 */
#ifndef USDT_NAMES_H
#define USDT_NAMES_H
#include <stddef.h>
#include "usdt_internal.h"

enum usdt_name_kind { USDT_NAME_PROVIDER, USDT_NAME_PROBE, USDT_NAME_FUNCTION, USDT_NAME_MODULE };

/* 0 if `name` is acceptable for `kind`; else -1 with a message in err
 * (USDT_ERRMSG_MAX bytes) saying what is wrong and where. */
int usdt_name_check(enum usdt_name_kind kind, const char *name, char *err);
/* dtrace-utils stores each probe as a path provider/module/function/name
 * (NAME_MAX 255); add_probe refuses a tuple that would not fit. */
#define USDT_DTRACE_TUPLE_MAX 255
#endif
