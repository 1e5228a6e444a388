/*
 * names.c — validation of names given to usdt_create_provider() and
 * usdt_create_probe(), and the form a probe name takes for Linux tracers.
 *
 * Names end up inside `.note.stapsdt` strings, DOF string tables and tracer
 * probe specifications ("usdt:*:provider:probe", "provider$pid:::probe",
 * dtrace-utils' provider/module/function/name paths). The accepted set is
 * what libusdt 0.x's users relied on and every tracer can name: letters,
 * digits, '_', '-' and '.' (module and function also as DTrace does), with
 * only the rules DTrace itself enforces on top (length, a provider name
 * starting with a letter or '_', not a built-in provider). A space, ':', quote,
 * '/', control byte or non-ASCII byte would make a probe unnameable or
 * corrupt those strings: refused with the offending byte and offset.
 *
 * Linux form: a '-' in a probe name is published to Linux tracers as "__"
 * (the <sys/sdt.h> / `dtrace -G` convention: the D name request-start is
 * request__start in the ELF note) and kept as '-' in DOF. Provider names
 * are published unchanged. Two probe names of one provider and function
 * with the same Linux form are the same probe: usdt.c's name index hashes
 * and compares Linux forms (usdt_name_linux_hash, usdt_name_linux_eq).
 */
#include <stdio.h>
#include <string.h>

#include "names.h"

static const char *const reserved_providers[] = {
	"pid", "fbt", "syscall", "profile", "proc", "sched", "io", "dtrace",
	"lockstat", "sdt", "fasttrap", "usdt", "stapsdt", NULL
};

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The same set for every kind: what D probe descriptions, dtrace-utils
 * paths, bpftrace/bcc/GDB probe specs and the ELF note all carry. */
static int name_char(int c)
{
	return is_alnum(c) || c == '_' || c == '-' || c == '.';
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
		if (!name_char(c))
			return usdt_errf(err, "%s name \"%.*s\" has an illegal character (%s at offset %zu); "
			                 "allowed: A-Z a-z 0-9 _ - .", w, (int)(c < 0x20 || c >= 0x7f ? (int)i : (int)len),
			                 name, describe(c, cbuf, sizeof cbuf), i);
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return usdt_errf(err, "%s name \"%s\" is reserved (DTrace makes it a path component)", w, name);
	if (kind == USDT_NAME_PROVIDER) {
		/* DTrace's kernel refuses a provider starting with a digit (and
		 * '-' or '.' first would read as an option or a path to some
		 * tools); a trailing digit is accepted: the pid follows it
		 * (provider0 of pid 42 is provider042 in D). */
		unsigned char c0 = (unsigned char)name[0];
		if (c0 != '_' && (!is_alnum(c0) || is_digit(c0)))
			return usdt_errf(err, "provider name \"%s\" must start with a letter or '_'", name);
		for (size_t i = 0; reserved_providers[i] != NULL; i++)
			if (strcmp(name, reserved_providers[i]) == 0)
				return usdt_errf(err, "provider name \"%s\" is reserved by DTrace or the tracers", name);
	}
	return 0;
}

size_t usdt_name_linux_len(const char *name)
{
	size_t n = 0;
	for (; *name; name++)
		n += *name == '-' ? 2 : 1;
	return n;
}

char *usdt_name_linux(char *dst, const char *name)
{
	for (; *name; name++) {
		if (*name == '-') {
			*dst++ = '_';
			*dst++ = '_';
		} else {
			*dst++ = *name;
		}
	}
	*dst = '\0';
	return dst;
}

int usdt_name_linux_eq(const char *a, const char *b)
{
	/* Walk both Linux forms: a '-' stands for two '_'. */
	int pa = 0, pb = 0;          /* a pending second '_' of a '-' */
	for (;;) {
		char ca, cb;
		if (pa) {
			ca = '_';
			pa = 0;
		} else if (*a == '-') {
			ca = '_';
			pa = 1;
			a++;
		} else {
			ca = *a;
			if (ca)
				a++;
		}
		if (pb) {
			cb = '_';
			pb = 0;
		} else if (*b == '-') {
			cb = '_';
			pb = 1;
			b++;
		} else {
			cb = *b;
			if (cb)
				b++;
		}
		if (ca != cb)
			return 0;
		if (ca == '\0')
			return 1;
	}
}

uint64_t usdt_name_linux_hash(uint64_t h, const char *name)
{
	for (; *name; name++) {
		if (*name == '-') {
			h = (h ^ (unsigned char)'_') * USDT_NAME_FNV_PRIME;
			h = (h ^ (unsigned char)'_') * USDT_NAME_FNV_PRIME;
		} else {
			h = (h ^ (unsigned char)*name) * USDT_NAME_FNV_PRIME;
		}
	}
	return h;
}
