/*
 * values.h — the argument values the test programs fire, per type and
 * position, chosen to hit extremes, negative numbers and empty strings.
 * test_value_for() returns the machine word to pass and the 64-bit value a
 * tracer must read (sign- or zero-extended from the declared width).
 * On ILP32 (i386) long, size_t and pointers are 4 bytes, and a 64-bit
 * type's value is what one 32-bit word carries, read by the tracer
 * extended to 64 bits by the type's signedness (src/arch/i386.h).
 */
#ifndef TEST_VALUES_H
#define TEST_VALUES_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct test_value {
	void *word;
	uint64_t expect;
	int is_string;
};

#define TV_WORD_BITS (8 * (unsigned)sizeof(void *))

static int tv_size(const char *t, int *is_signed)
{
	enum { W = sizeof(long) };
	static const struct { const char *n; int size, sgn; } tab[] = {
		{ "int8_t", 1, 1 }, { "uint8_t", 1, 0 }, { "int16_t", 2, 1 }, { "uint16_t", 2, 0 },
		{ "int32_t", 4, 1 }, { "uint32_t", 4, 0 }, { "int64_t", 8, 1 }, { "uint64_t", 8, 0 },
		{ "int", 4, 1 }, { "long", W, 1 }, { "unsigned long", W, 0 }, { "uintptr_t", W, 0 },
		{ "void *", W, 0 }, { "unsigned int", 4, 0 }, { "short", 2, 1 }, { "char", 1, 1 },
		{ "unsigned char", 1, 0 }, { "unsigned short", 2, 0 }, { "size_t", W, 0 }, { "ssize_t", W, 1 },
		{ "intptr_t", W, 1 }, { "long long", 8, 1 }, { "unsigned long long", 8, 0 }, { "bool", 1, 0 },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(tab[i].n, t) == 0) {
			*is_signed = tab[i].sgn;
			return tab[i].size;
		}
	*is_signed = 1;
	return 8;
}

static inline struct test_value test_value_for(const char *type, size_t i, char *buf, size_t buflen)
{
	struct test_value v = { 0, 0, 0 };
	if (strstr(type, "char") != NULL && strchr(type, '*') != NULL) {
		if (i % 3 == 1)
			buf[0] = '\0';                           /* the empty string */
		else
			snprintf(buf, buflen, "str%zu-%s", i, i % 3 ? "x" : "hello");
		v.word = buf;
		v.is_string = 1;
		return v;
	}
	int sgn;
	int size = tv_size(type, &sgn);
	unsigned bits = (unsigned)size * 8;
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	/* the bits one word can carry (all 64 of a 64-bit type only on LP64) */
	unsigned vbits = bits < TV_WORD_BITS ? bits : TV_WORD_BITS;
	uint64_t vmask = vbits == 64 ? ~0ull : (1ull << vbits) - 1;
	int64_t sval;
	uint64_t raw;
	if (strcmp(type, "bool") == 0) {
		raw = i % 2;
	} else if (sgn) {
		int64_t min = vbits == 64 ? INT64_MIN : -(int64_t)(1ull << (vbits - 1));
		int64_t max = vbits == 64 ? INT64_MAX : (int64_t)((1ull << (vbits - 1)) - 1);
		int64_t choice[4] = { min, max, -1, -(int64_t)(i + 2) * 3 };
		sval = choice[i % 4];
		raw = (uint64_t)sval;
	} else {
		uint64_t choice[4] = { vmask, 0, 1, (uint64_t)(i + 100) & vmask };
		raw = choice[i % 4];
	}
	/* what the tracer reads: low `bits` bits, extended per signedness */
	uint64_t low = raw & mask;
	if (sgn && bits < 64 && (low >> (bits - 1)) & 1)
		low |= ~mask;
	v.expect = low;
	/* the word passed: for signed types the sign-extended value, with junk
	 * above the declared width for unsigned ones to prove it is ignored */
	v.word = (void *)(uintptr_t)(sgn ? raw : (bits < TV_WORD_BITS ? (raw | (0xabcdull << (TV_WORD_BITS - 16))) : raw));
	return v;
}
#endif
