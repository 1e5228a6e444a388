/*
 * types.c — the table of argument types.
 *
 * libusdt 0.x knew "int" and "char *" (and silently treated anything else as
 * an integer); here every type a binding or C caller would reasonably write
 * is recognised and anything else is refused at definition time. Sizes are
 * those of the C ABI being built: LP64 (x86_64, aarch64) or ILP32 (i386,
 * where long, size_t and pointers are 4 bytes: WORD below); each value
 * travels as one machine word and the tracer reads `size` bytes of it with
 * the given signedness, which is what the note's "-4@%edi"-style spec
 * encodes. 64-bit types stay 8 bytes on ILP32: the tracer reads the word
 * extended by its signedness (src/arch/i386.h).
 */
#include <string.h>

#include "types.h"
#include "usdt.h"          /* USDT_API: the two objects below are exported */

#define WORD ((int)sizeof(long))

/* The spellings stored in probedef->types[]: libusdt 0.1's two types have
 * exported addresses (USDT_ARGTYPE_STRING / _INTEGER in usdt.h). */
const char usdt_argtype_string[] = "char *";
const char usdt_argtype_integer[] = "int";

static const struct usdt_type_info table[] = {
	/* spelling, canonical spelling, size, signed, string, json */
	{ "int", usdt_argtype_integer, 4, 1, 0, 0 },
	{ "signed int", usdt_argtype_integer, 4, 1, 0, 0 },
	{ "signed", usdt_argtype_integer, 4, 1, 0, 0 },
	{ "unsigned int", "unsigned int", 4, 0, 0, 0 },
	{ "unsigned", "unsigned int", 4, 0, 0, 0 },
	{ "short", "short", 2, 1, 0, 0 },
	{ "signed short", "short", 2, 1, 0, 0 },
	{ "short int", "short", 2, 1, 0, 0 },
	{ "unsigned short", "unsigned short", 2, 0, 0, 0 },
	{ "unsigned short int", "unsigned short", 2, 0, 0, 0 },
	{ "char", "char", 1, 1, 0, 0 },
	{ "signed char", "signed char", 1, 1, 0, 0 },
	{ "unsigned char", "unsigned char", 1, 0, 0, 0 },
	{ "long", "long", WORD, 1, 0, 0 },
	{ "signed long", "long", WORD, 1, 0, 0 },
	{ "long int", "long", WORD, 1, 0, 0 },
	{ "unsigned long", "unsigned long", WORD, 0, 0, 0 },
	{ "unsigned long int", "unsigned long", WORD, 0, 0, 0 },
	{ "long long", "long long", 8, 1, 0, 0 },
	{ "long long int", "long long", 8, 1, 0, 0 },
	{ "unsigned long long", "unsigned long long", 8, 0, 0, 0 },
	{ "int8_t", "int8_t", 1, 1, 0, 0 },
	{ "uint8_t", "uint8_t", 1, 0, 0, 0 },
	{ "int16_t", "int16_t", 2, 1, 0, 0 },
	{ "uint16_t", "uint16_t", 2, 0, 0, 0 },
	{ "int32_t", "int32_t", 4, 1, 0, 0 },
	{ "uint32_t", "uint32_t", 4, 0, 0, 0 },
	{ "int64_t", "int64_t", 8, 1, 0, 0 },
	{ "uint64_t", "uint64_t", 8, 0, 0, 0 },
	{ "intptr_t", "intptr_t", WORD, 1, 0, 0 },
	{ "uintptr_t", "uintptr_t", WORD, 0, 0, 0 },
	{ "size_t", "size_t", WORD, 0, 0, 0 },
	{ "ssize_t", "ssize_t", WORD, 1, 0, 0 },
	{ "off_t", "off_t", 8, 1, 0, 0 },
	{ "pid_t", "pid_t", 4, 1, 0, 0 },
	{ "uid_t", "uid_t", 4, 0, 0, 0 },
	{ "gid_t", "gid_t", 4, 0, 0, 0 },
	{ "bool", "bool", 1, 0, 0, 0 },
	{ "_Bool", "bool", 1, 0, 0, 0 },
	{ "char *", usdt_argtype_string, WORD, 0, 1, 0 },
	{ "const char *", usdt_argtype_string, WORD, 0, 1, 0 },
	/* JSON text: a string to tracers and DTrace ("char *" in DOF and
	 * probedef->types[]), "json" in the type metadata (USDT_ARGF_JSON) */
	{ "json", usdt_argtype_string, WORD, 0, 1, 1 },
	{ "void *", "void *", WORD, 0, 0, 0 },
	{ "const void *", "const void *", WORD, 0, 0, 0 },
};

/* Normalise: collapse runs of spaces, drop spaces before '*', put one
 * space before a '*' that follows a word, trim. "char*" -> "char *". */
static int normalise(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	int pending_space = 0;
	for (const char *p = in; *p != '\0'; p++) {
		char c = *p;
		if (c == ' ' || c == '\t') {
			pending_space = n > 0;
			continue;
		}
		if (c == '*' && n > 0 && out[n - 1] != '*')
			pending_space = 1;
		if (pending_space) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = ' ';
			pending_space = 0;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

const struct usdt_type_info *usdt_type_lookup(const char *type)
{
	char norm[USDT_TYPE_NAME_MAX + 1];
	if (type == NULL || strlen(type) > USDT_TYPE_NAME_MAX)
		return NULL;
	if (normalise(type, norm, sizeof norm) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].spelling, norm) == 0)
			return &table[i];
	return NULL;
}
