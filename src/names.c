/*
 * names.c — validation of names given to usdt_create_provider() and
 * usdt_create_probe().
 *
 * Names end up inside `.note.stapsdt` strings, DOF string tables and tracer
 * probe specifications ("usdt:*:provider:probe", "provider$pid:::probe").
 * A space, ':', quote, control character or non-ASCII byte would make a
 * probe unnameable or corrupt those strings, so only a conservative set of
 * characters is accepted. DTrace's rules are applied on every platform: the
 * provider name leaves room for the pid (<= 53 bytes), must not end in a
 * digit (DTrace appends the pid), and must not be a DTrace built-in provider.
 */
#include <stdio.h>
#include <string.h>

#include "names.h"

static const char *const reserved_providers[] = {
	"pid", "fbt", "syscall", "profile", "proc", "sched", "io", "dtrace",
	"lockstat", "sdt", "fasttrap", "usdt", "stapsdt", NULL
};

static int is_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static const char *describe(unsigned char c, char *buf, size_t len)
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", c);
	return buf;
}

int usdt_name_check(enum usdt_name_kind kind, const char *name, char *err)
{
	static const char *const what[] = { "provider", "probe", "function", "module" };
	static const size_t maxlen[] = { USDT_PROVIDER_NAME_MAX, USDT_PROBE_NAME_MAX,
	                                 USDT_FUNCTION_NAME_MAX, USDT_MODULE_NAME_MAX };
	const char *w = what[kind];
	char cbuf[16];

	if (name == NULL)
		return usdt_errf(err, "%s name is NULL", w);
	size_t len = strnlen(name, maxlen[kind] + 1);
	if (len == 0 && (kind == USDT_NAME_PROVIDER || kind == USDT_NAME_PROBE))
		return usdt_errf(err, "%s name is empty", w);
	if (len > maxlen[kind])
		return usdt_errf(err, "%s name is longer than %zu bytes", w, maxlen[kind]);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		int ok = is_ident(c);
		if (kind == USDT_NAME_FUNCTION)
			ok = ok || c == '.';
		if (kind == USDT_NAME_MODULE)
			ok = ok || c == '.' || c == '-';
		if (!ok)
			return usdt_errf(err, "%s name \"%.*s\" has an illegal character (%s at offset %zu); "
			                 "allowed: A-Z a-z 0-9 _%s", w, (int)(c < 0x20 || c >= 0x7f ? (int)i : (int)len),
			                 name, describe(c, cbuf, sizeof cbuf), i,
			                 kind == USDT_NAME_FUNCTION ? " ." : kind == USDT_NAME_MODULE ? " . -" : "");
	}
	if ((kind == USDT_NAME_FUNCTION || kind == USDT_NAME_MODULE) && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
		return usdt_errf(err, "%s name \"%s\" is reserved (DTrace makes it a path component)", w, name);
	if ((kind == USDT_NAME_PROVIDER || kind == USDT_NAME_PROBE) && is_digit((unsigned char)name[0]))
		return usdt_errf(err, "%s name \"%s\" starts with a digit", w, name);
	if (kind == USDT_NAME_PROVIDER) {
		if (is_digit((unsigned char)name[len - 1]))
			return usdt_errf(err, "provider name \"%s\" ends with a digit (DTrace appends the pid)", name);
		for (size_t i = 0; reserved_providers[i] != NULL; i++)
			if (strcmp(name, reserved_providers[i]) == 0)
				return usdt_errf(err, "provider name \"%s\" is reserved by DTrace or the tracers", name);
	}
	return 0;
}
