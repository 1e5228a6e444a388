/*
 * structs.h — the process-wide registry of structure layouts declared at
 * run time (usdt_register_struct, structs.c), and the field kinds shared by
 * the library, the type metadata note (linux/type_note.h) and the `usdt`
 * command: a structure argument is a pointer, "struct NAME *", whose
 * layout the tracer side learns from the metadata.
 */
#ifndef USDT_STRUCTS_H
#define USDT_STRUCTS_H

#include <stddef.h>
#include <stdint.h>

#include "usdt.h"

/* What a field (or a probe argument) is, as the metadata records it: the
 * kind in the low byte, USDT_FK_SIGNED for signed integers. */
enum usdt_field_kind {
	USDT_FK_INT = 1,          /* integer of `size` bytes */
	USDT_FK_STRING = 2,       /* char *: NUL-terminated string */
	USDT_FK_JSON = 3,         /* char * holding JSON text */
	USDT_FK_POINTER = 4,      /* void *: an opaque address */
	USDT_FK_CHARS = 5,        /* char[N]: inline characters, size N */
	USDT_FK_STRUCT = 6,       /* struct X: inline structure */
	USDT_FK_STRUCTPTR = 7,    /* struct X *: pointer to a structure */
};
#define USDT_FK_KIND_MASK 0xffu
#define USDT_FK_SIGNED 0x100u

/* "struct " before a structure's name, and " *" after it in an argument type. */
#define USDT_STRUCT_PREFIX "struct "
#define USDT_STRUCT_TYPE_MAX (sizeof USDT_STRUCT_PREFIX - 1 + USDT_STRUCT_NAME_MAX + 2)

struct usdt_struct;

struct usdt_struct_field {
	const char *name;
	const char *type;                 /* canonical spelling */
	uint32_t offset, size, kind;      /* kind: USDT_FK_* | USDT_FK_SIGNED */
	const struct usdt_struct *sub;    /* USDT_FK_STRUCT / _STRUCTPTR: that structure */
};

/* One registered structure: immutable once published, never freed. */
struct usdt_struct {
	struct usdt_struct *next;         /* registry list (newest first) */
	char name[USDT_STRUCT_NAME_MAX + 1];
	char ptr_type[USDT_STRUCT_TYPE_MAX + 1];   /* "struct NAME *": what
	                                     probedef->types[] points at */
	char inline_type[USDT_STRUCT_TYPE_MAX + 1]; /* "struct NAME" */
	uint32_t size, align;
	size_t nfields;
	struct usdt_struct_field fields[];  /* sorted by offset */
};

/* Is `type` a structure type ("struct NAME *" when want_ptr, "struct NAME"
 * otherwise; spaces as in C)? 0 if it is not of that form; 1 with *out the
 * registered structure or NULL when none has that name (name copied into
 * `name`, USDT_STRUCT_NAME_MAX + 1 bytes, for messages); -1 when it has the
 * form but the name is not a valid identifier. */
int usdt_struct_parse_type(const char *type, int want_ptr, const struct usdt_struct **out, char *name);

/* The registered structure whose ptr_type is `type` (a probedef->types[]
 * string of an argument flagged USDT_ARGF_STRUCT). */
const struct usdt_struct *usdt_struct_of_ptr_type(const char *type);

#endif
