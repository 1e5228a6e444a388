/*
 * types.h — the argument type strings libusdt accepts and what each means
 * to a tracer: width in bytes, signedness, and whether it is a string.
 */
#ifndef USDT_TYPES_H
#define USDT_TYPES_H
#include <stddef.h>

struct usdt_type_info {
	const char *spelling;   /* a C spelling, e.g. "unsigned long int" */
	const char *canonical;  /* its canonical spelling ("unsigned long"),
	                           the string probedef->types[] points at */
	int size;               /* 1, 2, 4 or 8 */
	int is_signed;          /* 1 for signed integers */
	int is_string;          /* 1 for char * (NUL-terminated string) */
	int is_json;            /* 1 for "json": a char * holding JSON text */
};

/* Look a type string up (spaces around '*' and repeated spaces ignored).
 * Returns NULL for an unknown type. */
const struct usdt_type_info *usdt_type_lookup(const char *type);

/* The longest type string accepted, in bytes. */
#define USDT_TYPE_NAME_MAX 32
#endif
