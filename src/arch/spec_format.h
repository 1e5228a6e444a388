/*
 * spec_format.h — the small formatting helpers every architecture's
 * usdt_arch_argspec() and VM operand writer use. The argument spec is
 * written without snprintf: it is made at every enable (once per distinct
 * signature). Each operand is formatted in a local buffer and copied only
 * if it fits, NUL-terminated. Included by src/arch/<arch>.c only.
 */
#ifndef USDT_ARCH_SPEC_FORMAT_H
#define USDT_ARCH_SPEC_FORMAT_H

#include <stddef.h>
#include <string.h>

/* v in decimal at p (no terminator); returns the end. */
static inline char *put_dec(char *p, long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
	if (v < 0)
		*p++ = '-';
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* s at p (no terminator); returns the end. */
static inline char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

/* Append op[0..len) to buf (n bytes used of buflen); -1 if it does not fit. */
static inline int append(char *buf, size_t buflen, size_t *n, const char *op, size_t len)
{
	if (len >= buflen - *n)
		return -1;
	memcpy(buf + *n, op, len);
	*n += len;
	buf[*n] = '\0';
	return 0;
}

#endif
