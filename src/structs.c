/*
 * structs.c — usdt_register_struct(): structure layouts declared at run
 * time, so that a probe argument may be "struct NAME *" (issue 14).
 *
 * The registry is a list that only grows, pushed with compare-and-swap:
 * no lock (so nothing for fork() or a signal handler to find held), and an
 * entry is immutable once published and never freed, so the strings of
 * probedef->types[] may point into it ("struct NAME *", see usdt.h). Each
 * layout is checked when registered, with a message naming the structure
 * and the field: names, field types (the scalar types of types.c, char[N],
 * registered structures inline or by pointer), bounds, overlaps and C's
 * natural alignment (tracers declare the structure in C without `packed`:
 * bpftrace cannot parse that attribute in a program).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "structs.h"
#include "types.h"
#include "usdt_internal.h"

#define WORD ((uint32_t)sizeof(void *))
/* The ABI's alignment of an 8-byte integer inside a structure (4 on i386). */
struct usdt_ll_align {
	char c;
	long long x;
};
#define LL_ALIGN ((uint32_t)offsetof(struct usdt_ll_align, x))
/* Longest field type string accepted ("struct " + a structure name + " *"). */
#define FIELD_TYPE_MAX USDT_STRUCT_TYPE_MAX

static struct usdt_struct *registry;     /* atomic: newest first */
static unsigned registered;              /* atomic: entries (reserved) */

static const char *const reserved[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
	"extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
	"short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
	"volatile", "while", "bool", "true", "false",
};

/* NULL if s is a usable C identifier of at most max bytes, else why not. */
static const char *bad_ident(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > max)
		return "is too long";
	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return "does not start with a letter or '_'";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return "has a character outside [A-Za-z0-9_]";
	}
	if (s[0] == '_' && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z')))
		return "is reserved (starts with \"__\" or '_' and a capital)";
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(s, reserved[i]) == 0)
			return "is a C keyword";
	return NULL;
}

static const struct usdt_struct *find(const char *name)
{
	for (const struct usdt_struct *s = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int usdt_struct_parse_type(const char *type, int want_ptr, const struct usdt_struct **out, char *name)
{
	*out = NULL;
	name[0] = '\0';
	const char *p = skip_spaces(type);
	if (strncmp(p, "struct", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return 0;
	p = skip_spaces(p + 6);
	size_t n = strcspn(p, " \t*");
	const char *q = skip_spaces(p + n);
	int ptr = *q == '*';
	if (ptr)
		q = skip_spaces(q + 1);
	if (*q != '\0' || ptr != want_ptr)
		return 0;
	if (n == 0 || n > USDT_STRUCT_NAME_MAX) {
		memcpy(name, p, n > USDT_STRUCT_NAME_MAX ? USDT_STRUCT_NAME_MAX : n);
		name[n > USDT_STRUCT_NAME_MAX ? USDT_STRUCT_NAME_MAX : n] = '\0';
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	if (bad_ident(name, USDT_STRUCT_NAME_MAX) != NULL)
		return -1;
	*out = find(name);
	return 1;
}

const struct usdt_struct *usdt_struct_of_ptr_type(const char *type)
{
	return (const struct usdt_struct *)(const void *)(type - offsetof(struct usdt_struct, ptr_type));
}

/* What a field type string is: kind, size, alignment and canonical
 * spelling (into canon, FIELD_TYPE_MAX + 1 bytes). self: the structure
 * being registered (a pointer to itself is fine). 0, or -1 with a message
 * fragment in why (USDT_ERRMSG_MAX bytes). */
static int field_type(const char *type, const char *self, struct usdt_struct_field *f, uint32_t *align,
                      char *canon, const struct usdt_struct **selfptr, char *why)
{
	char name[USDT_STRUCT_NAME_MAX + 1];
	const struct usdt_struct *st;
	*selfptr = NULL;
	if (strlen(type) > FIELD_TYPE_MAX) {
		usdt_errf(why, "has an unknown type \"%.40s...\" (too long)", type);
		return -1;
	}
	/* char[N] */
	const char *p = skip_spaces(type);
	if (strncmp(p, "char", 4) == 0 && *skip_spaces(p + 4) == '[') {
		p = skip_spaces(p + 4) + 1;
		char *end;
		unsigned long n = strtoul(skip_spaces(p), &end, 10);
		if (end == skip_spaces(p) || *skip_spaces(end) != ']' || *skip_spaces(skip_spaces(end) + 1) != '\0' ||
		    n == 0 || n > USDT_STRUCT_SIZE_MAX) {
			usdt_errf(why, "has a bad array type \"%s\" (want char[N], N from 1 to %d)", type,
			          USDT_STRUCT_SIZE_MAX);
			return -1;
		}
		f->kind = USDT_FK_CHARS;
		f->size = (uint32_t)n;
		*align = 1;
		snprintf(canon, FIELD_TYPE_MAX + 1, "char[%lu]", n);
		return 0;
	}
	for (int want_ptr = 0; want_ptr < 2; want_ptr++) {
		int rc = usdt_struct_parse_type(type, want_ptr, &st, name);
		if (rc == 0)
			continue;
		if (rc < 0) {
			usdt_errf(why, "has type \"%s\" whose structure name is not a C identifier", type);
			return -1;
		}
		if (strcmp(name, self) == 0) {
			if (!want_ptr) {
				usdt_errf(why, "has type \"%s\": a structure cannot contain itself", type);
				return -1;
			}
			*selfptr = (const struct usdt_struct *)1;    /* patched by the caller */
		} else if (st == NULL) {
			usdt_errf(why, "has type \"%s\", but no structure %s is registered (register it first)", type,
			          name);
			return -1;
		}
		f->sub = st;
		f->kind = want_ptr ? USDT_FK_STRUCTPTR : USDT_FK_STRUCT;
		f->size = want_ptr ? WORD : st->size;
		*align = want_ptr ? WORD : st->align;
		snprintf(canon, FIELD_TYPE_MAX + 1, "struct %s%s", name, want_ptr ? " *" : "");
		return 0;
	}
	const struct usdt_type_info *info = usdt_type_lookup(type);
	if (info == NULL) {
		usdt_errf(why, "has an unknown type \"%s\" (a scalar type of usdt.h, char[N], struct NAME or "
		               "struct NAME *)", type);
		return -1;
	}
	f->size = (uint32_t)info->size;
	if (info->is_json)
		f->kind = USDT_FK_JSON;
	else if (info->is_string)
		f->kind = USDT_FK_STRING;
	else if (strchr(info->canonical, '*') != NULL)
		f->kind = USDT_FK_POINTER;
	else
		f->kind = USDT_FK_INT | (info->is_signed ? USDT_FK_SIGNED : 0);
	*align = f->size == 8 ? LL_ALIGN : f->size;
	if (f->kind != (USDT_FK_INT | USDT_FK_SIGNED) && f->kind != USDT_FK_INT)
		*align = WORD;
	snprintf(canon, FIELD_TYPE_MAX + 1, "%s", info->is_json ? "json" : info->canonical);
	return 0;
}

static int same_layout(const struct usdt_struct *a, const struct usdt_struct *b)
{
	if (a->size != b->size || a->nfields != b->nfields)
		return 0;
	for (size_t i = 0; i < a->nfields; i++)
		if (a->fields[i].offset != b->fields[i].offset || strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
		    strcmp(a->fields[i].type, b->fields[i].type) != 0)
			return 0;
	return 1;
}

#define LAYOUT_FAIL(...) (usdt_fail(NULL, USDT_ERROR_LAYOUT, __VA_ARGS__), free(s), -1)

int usdt_register_struct(const char *name, size_t size, size_t nfields, const usdt_field_t *fields)
{
	const char *why;
	char msg[USDT_ERRMSG_MAX];
	struct usdt_struct *s = NULL;
	if (name == NULL)
		return usdt_fail(NULL, USDT_ERROR_NULL, "usdt_register_struct: name is NULL");
	const char *sname = skip_spaces(name);
	if (strncmp(sname, "struct", 6) == 0 && (sname[6] == ' ' || sname[6] == '\t'))
		sname = skip_spaces(sname + 6);
	if ((why = bad_ident(sname, USDT_STRUCT_NAME_MAX)) != NULL)
		return LAYOUT_FAIL("structure name \"%.80s\" %s (a C identifier of at most %d characters, not a keyword)",
		                   sname, why, USDT_STRUCT_NAME_MAX);
	if (nfields > 0 && fields == NULL)
		return usdt_fail(NULL, USDT_ERROR_NULL, "struct %s: fields is NULL with %zu fields", sname, nfields);
	if (nfields == 0 || nfields > USDT_STRUCT_FIELDS_MAX)
		return LAYOUT_FAIL("struct %s: %zu fields (from 1 to USDT_STRUCT_FIELDS_MAX, %d)", sname, nfields,
		                   USDT_STRUCT_FIELDS_MAX);
	if (size == 0 || size > USDT_STRUCT_SIZE_MAX)
		return LAYOUT_FAIL("struct %s: size %zu is outside 1..USDT_STRUCT_SIZE_MAX (%d)", sname, size,
		                   USDT_STRUCT_SIZE_MAX);
	/* one block: the structure, its fields, then their names and types */
	size_t strbytes = 0;
	for (size_t i = 0; i < nfields; i++) {
		if (fields[i].name == NULL || fields[i].type == NULL)
			return usdt_fail(NULL, USDT_ERROR_NULL, "struct %s: field %zu has a NULL %s", sname, i + 1,
			                 fields[i].name == NULL ? "name" : "type");
		strbytes += strnlen(fields[i].name, USDT_FIELD_NAME_MAX + 1) + 1 + FIELD_TYPE_MAX + 1;
	}
	s = calloc(1, sizeof *s + nfields * sizeof s->fields[0] + strbytes);
	if (s == NULL)
		return usdt_fail(NULL, USDT_ERROR_MALLOC, NULL);
	char *str = (char *)&s->fields[nfields];
	snprintf(s->name, sizeof s->name, "%s", sname);
	snprintf(s->ptr_type, sizeof s->ptr_type, "struct %s *", sname);
	snprintf(s->inline_type, sizeof s->inline_type, "struct %s", sname);
	s->size = (uint32_t)size;
	s->align = 1;
	s->nfields = nfields;
	for (size_t i = 0; i < nfields; i++) {
		const usdt_field_t *in = &fields[i];
		struct usdt_struct_field f = { 0 };
		const struct usdt_struct *selfptr;
		uint32_t align;
		char canon[FIELD_TYPE_MAX + 1];
		if ((why = bad_ident(in->name, USDT_FIELD_NAME_MAX)) != NULL)
			return LAYOUT_FAIL("struct %s: field %zu name \"%.80s\" %s (a C identifier of at most %d "
			                   "characters, not a keyword)", sname, i + 1, in->name, why, USDT_FIELD_NAME_MAX);
		for (size_t k = 0; k < i; k++)
			if (strcmp(fields[k].name, in->name) == 0)
				return LAYOUT_FAIL("struct %s: two fields are named %s", sname, in->name);
		if (field_type(in->type, sname, &f, &align, canon, &selfptr, msg) != 0)
			return LAYOUT_FAIL("struct %s: field %s %s", sname, in->name, msg);
		if (selfptr != NULL)
			f.sub = s;
		if (in->offset > size || f.size > size - in->offset)
			return LAYOUT_FAIL("struct %s: field %s (%s, %u bytes at offset %zu) ends past the structure's "
			                   "size, %zu bytes", sname, in->name, canon, f.size, in->offset, size);
		if (in->offset % align != 0)
			return LAYOUT_FAIL("struct %s: field %s (%s) at offset %zu is not a multiple of its alignment, %u "
			                   "(tracers declare the structure in C: packed layouts are not supported)",
			                   sname, in->name, canon, in->offset, align);
		if (align > s->align)
			s->align = align;
		f.offset = (uint32_t)in->offset;
		f.name = str;
		str += sprintf(str, "%s", in->name) + 1;
		f.type = str;
		str += sprintf(str, "%s", canon) + 1;
		/* insert sorted by offset (stable) */
		size_t at = i;
		while (at > 0 && s->fields[at - 1].offset > f.offset) {
			s->fields[at] = s->fields[at - 1];
			at--;
		}
		s->fields[at] = f;
	}
	for (size_t i = 1; i < nfields; i++) {
		const struct usdt_struct_field *a = &s->fields[i - 1], *b = &s->fields[i];
		if (b->offset < a->offset + a->size)
			return LAYOUT_FAIL("struct %s: fields %s (offset %u, %u bytes) and %s (offset %u, %u bytes) overlap",
			                   sname, a->name, a->offset, a->size, b->name, b->offset, b->size);
	}
	if (size % s->align != 0)
		return LAYOUT_FAIL("struct %s: size %zu is not a multiple of its alignment, %u (as a C compiler "
		                   "would pad it)", sname, size, s->align);
	/* publish, unless the name is taken */
	if (__atomic_fetch_add(&registered, 1, __ATOMIC_RELAXED) >= USDT_STRUCTS_MAX) {
		__atomic_fetch_sub(&registered, 1, __ATOMIC_RELAXED);
		return LAYOUT_FAIL("struct %s: %d structures are registered already (USDT_STRUCTS_MAX)", sname,
		                   USDT_STRUCTS_MAX);
	}
	struct usdt_struct *head = __atomic_load_n(&registry, __ATOMIC_ACQUIRE);
	for (;;) {
		for (const struct usdt_struct *o = head; o != NULL; o = o->next) {
			if (strcmp(o->name, s->name) != 0)
				continue;
			__atomic_fetch_sub(&registered, 1, __ATOMIC_RELAXED);
			int same = same_layout(o, s);
			free(s);
			if (same)
				return 0;
			return usdt_fail(NULL, USDT_ERROR_DUP_STRUCT,
			                 "struct %s is registered already with another layout (%u bytes, %zu fields)",
			                 o->name, o->size, o->nfields);
		}
		s->next = head;
		if (__atomic_compare_exchange_n(&registry, &head, s, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
			return 0;
	}
}
