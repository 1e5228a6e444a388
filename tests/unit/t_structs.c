/*
 * t_structs.c — structured argument types (issue 14 part 2) without a
 * tracer: usdt_register_struct() accepts good layouts (every field kind,
 * nested and self-referencing structures, fields in any order), accepts
 * the same layout twice and refuses another one under the same name, and
 * refuses every layout error with its code and a message naming the
 * structure and field; usdt_create_probe() takes "struct NAME *" and
 * "json" and refuses unknown or inline structures; the type metadata
 * (.note.libusdt) of an enabled provider carries the layouts its probes
 * use, read back with the reader the `usdt` command uses, also from a
 * truncated section (no out-of-bounds read); the DOF document of such a
 * probe has the native argument types "struct request *" and "char *" (for
 * json); concurrent registration from several threads publishes each name
 * once.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "backend.h"
#include "dof/dof.h"
#include "linux/type_note.h"
#include "structs.h"
#include "usdt.h"
#include "usdt_internal.h"

#define NTHREADS 8
#define NAMES_PER_THREAD 16

struct inner {
	int16_t a;
	uint32_t b;
};

struct request {
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	const char *path;
	char name[16];
	struct inner in;
	struct request *next;
	const char *json;
	void *opaque;
	_Bool flag;
};

#define F(n, t) { #n, t, offsetof(struct request, n) }
static const usdt_field_t req_fields[] = {
	F(path, "char *"), F(i8, "int8_t"), F(u8, "uint8_t"), F(i16, "int16_t"), F(u16, "uint16_t"),
	F(i32, "int32_t"), F(u32, "uint32_t"), F(i64, "int64_t"), F(u64, "uint64_t"), F(name, "char[16]"),
	F(in, "struct inner"), F(next, "struct request *"), F(json, "json"), F(opaque, "void *"), F(flag, "bool"),
};
#define NREQ (sizeof req_fields / sizeof req_fields[0])

static void bad(const char *name, size_t size, size_t n, const usdt_field_t *f, usdt_error_t want,
                const char *needle, const char *what)
{
	int rc = usdt_register_struct(name, size, n, f);
	CHECK(rc == -1 && usdt_last_error() == want && strstr(usdt_last_errstr(), needle) != NULL,
	      "refuses %s: %s", what, usdt_last_errstr());
}

static void *reg_thread(void *arg)
{
	static const usdt_field_t f[] = { { "x", "int", 0 } };
	char name[32];
	long failures = 0;
	(void)arg;
	for (int i = 0; i < NAMES_PER_THREAD; i++) {
		snprintf(name, sizeof name, "race%d", i);
		failures += usdt_register_struct(name, 4, 1, f) != 0;
	}
	return (void *)failures;
}

int main(void)
{
	static const usdt_field_t inner_f[] = { { "b", "uint32_t", 4 }, { "a", "int16_t", 0 } };
	CHECK(usdt_register_struct("inner", sizeof(struct inner), 2, inner_f) == 0, "register struct inner: %s",
	      usdt_last_errstr());
	CHECK(usdt_register_struct("struct request", sizeof(struct request), NREQ, req_fields) == 0,
	      "register struct request (every kind, nested, self pointer, any order): %s", usdt_last_errstr());
	CHECK(usdt_register_struct("request", sizeof(struct request), NREQ, req_fields) == 0,
	      "the same layout again is fine");

	/* ---- layout errors ---- */
	usdt_field_t f1[] = { { "a", "int32_t", 0 }, { "b", "int32_t", 2 } };
	bad("ov", 8, 2, (usdt_field_t[]){ { "a", "int32_t", 0 }, { "b", "int16_t", 2 } }, USDT_ERROR_LAYOUT,
	    "fields a (offset 0, 4 bytes) and b (offset 2, 2 bytes) overlap", "overlapping fields");
	bad("ov2", 8, 2, f1, USDT_ERROR_LAYOUT, "not a multiple of its alignment", "a misaligned int32_t");
	bad("past", 8, 1, (usdt_field_t[]){ { "a", "int64_t", 4 } }, USDT_ERROR_LAYOUT,
	    "field a (int64_t, 8 bytes at offset 4) ends past the structure's size, 8 bytes", "a field past the end");
	bad("past2", 8, 1, (usdt_field_t[]){ { "a", "char[9]", 0 } }, USDT_ERROR_LAYOUT, "ends past", "char[9] in 8 bytes");
	bad("huge", 8, 1, (usdt_field_t[]){ { "a", "int", SIZE_MAX - 1 } }, USDT_ERROR_LAYOUT, "ends past",
	    "an offset near SIZE_MAX (no overflow)");
	bad("unk", 8, 1, (usdt_field_t[]){ { "a", "float", 0 } }, USDT_ERROR_LAYOUT,
	    "struct unk: field a has an unknown type \"float\"", "an unknown field type");
	bad("unk2", 8, 1, (usdt_field_t[]){ { "a", "struct nosuch *", 0 } }, USDT_ERROR_LAYOUT,
	    "no structure nosuch is registered", "a pointer to an unregistered structure");
	bad("self", 8, 1, (usdt_field_t[]){ { "a", "struct self", 0 } }, USDT_ERROR_LAYOUT, "cannot contain itself",
	    "a structure containing itself");
	bad("arr", 8, 1, (usdt_field_t[]){ { "a", "char[0]", 0 } }, USDT_ERROR_LAYOUT, "bad array type", "char[0]");
	bad("arr2", 8, 1, (usdt_field_t[]){ { "a", "char[x]", 0 } }, USDT_ERROR_LAYOUT, "bad array type", "char[x]");
	bad("bad-name", 8, 1, f1, USDT_ERROR_LAYOUT, "structure name \"bad-name\" has a character outside",
	    "a structure name with '-'");
	bad("int", 8, 1, f1, USDT_ERROR_LAYOUT, "is a C keyword", "a keyword as structure name");
	bad("", 8, 1, f1, USDT_ERROR_LAYOUT, "is empty", "an empty structure name");
	bad("__x", 8, 1, f1, USDT_ERROR_LAYOUT, "is reserved", "a reserved structure name");
	bad("a0123456789012345678901234567890123456789012345678901234567890123", 8, 1, f1, USDT_ERROR_LAYOUT,
	    "is too long", "a 64-character structure name");
	bad("fn", 8, 1, (usdt_field_t[]){ { "9a", "int", 0 } }, USDT_ERROR_LAYOUT,
	    "field 1 name \"9a\" does not start with a letter", "a field name starting with a digit");
	bad("fn2", 8, 1, (usdt_field_t[]){ { "for", "int", 0 } }, USDT_ERROR_LAYOUT, "is a C keyword",
	    "a keyword as field name");
	bad("dupf", 8, 2, (usdt_field_t[]){ { "a", "int", 0 }, { "a", "int", 4 } }, USDT_ERROR_LAYOUT,
	    "two fields are named a", "a repeated field name");
	bad("none", 8, 0, f1, USDT_ERROR_LAYOUT, "0 fields", "no field");
	usdt_field_t many[USDT_STRUCT_FIELDS_MAX + 1];
	char names[USDT_STRUCT_FIELDS_MAX + 1][8];
	for (int i = 0; i <= USDT_STRUCT_FIELDS_MAX; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		many[i] = (usdt_field_t){ names[i], "char", (size_t)i };
	}
	bad("many", 128, USDT_STRUCT_FIELDS_MAX + 1, many, USDT_ERROR_LAYOUT, "65 fields", "too many fields");
	CHECK(usdt_register_struct("many", 128, USDT_STRUCT_FIELDS_MAX, many) == 0, "USDT_STRUCT_FIELDS_MAX fields: %s",
	      usdt_last_errstr());
	bad("zero", 0, 1, f1, USDT_ERROR_LAYOUT, "size 0 is outside", "size 0");
	bad("big", USDT_STRUCT_SIZE_MAX + 1, 1, f1, USDT_ERROR_LAYOUT, "is outside 1..USDT_STRUCT_SIZE_MAX",
	    "a size above USDT_STRUCT_SIZE_MAX");
	bad("odd", 6, 1, (usdt_field_t[]){ { "a", "int32_t", 0 } }, USDT_ERROR_LAYOUT,
	    "size 6 is not a multiple of its alignment, 4", "a size that C would pad");
	bad(NULL, 8, 1, f1, USDT_ERROR_NULL, "name is NULL", "a NULL name");
	bad("nf", 8, 1, NULL, USDT_ERROR_NULL, "fields is NULL", "NULL fields");
	bad("nt", 8, 1, (usdt_field_t[]){ { "a", NULL, 0 } }, USDT_ERROR_NULL, "field 1 has a NULL type", "a NULL type");
	bad("inner", 8, 1, (usdt_field_t[]){ { "a", "int", 0 } }, USDT_ERROR_DUP_STRUCT,
	    "struct inner is registered already with another layout (8 bytes, 2 fields)", "another layout, same name");
	CHECK(strcmp(usdt_strerror(USDT_ERROR_LAYOUT), "invalid structure layout") == 0 &&
	      strstr(usdt_strerror(USDT_ERROR_DUP_STRUCT), "another layout") != NULL, "usdt_strerror of the new codes");

	/* ---- probe argument types ---- */
	const char *t[] = { "struct request*", "json", "int" };
	usdt_probedef_t *pd = usdt_create_probe("f", "req", 3, t);
	CHECK(pd != NULL && strcmp(pd->types[0], "struct request *") == 0 && pd->types[1] == USDT_ARGTYPE_STRING,
	      "create_probe takes \"struct request*\" (types[0] \"%s\") and json (types[1] \"%s\", what DTrace gets)",
	      pd ? pd->types[0] : "?", pd ? pd->types[1] : "?");
	const char *tb[] = { "struct nosuch *" };
	CHECK(usdt_create_probe("f", "x", 1, tb) == NULL && usdt_last_error() == USDT_ERROR_BADTYPE &&
	      strstr(usdt_last_errstr(), "no structure \"nosuch\" is registered") != NULL,
	      "an unregistered structure: %s", usdt_last_errstr());
	const char *ti[] = { "struct request" };
	CHECK(usdt_create_probe("f", "x", 1, ti) == NULL && usdt_last_error() == USDT_ERROR_BADTYPE &&
	      strstr(usdt_last_errstr(), "passed by pointer (\"struct request *\")") != NULL,
	      "an inline structure argument: %s", usdt_last_errstr());

	/* ---- the metadata note carries the layouts ---- */
	usdt_provider_t *prov = usdt_create_provider("structprov", "m");
	const char *t2[] = { "json" };
	usdt_probedef_t *pd2 = usdt_create_probe("f", "js", 1, t2);
	CHECK(prov && pd2 && usdt_provider_add_probe(prov, pd) == 0 && usdt_provider_add_probe(prov, pd2) == 0,
	      "provider with both probes");
	struct usdt_generation gen = { 0 };
	usdt_probedef_t *defs[] = { pd, pd2 };
	gen.nprobes = 2;
	gen.defs = defs;
	char err[USDT_ERRMSG_MAX];
	size_t size = 0;
	uint8_t *sec = usdt_type_note_build(prov, &gen, &size, err);
	CHECK(sec != NULL, "type note built (%zu bytes)", size);
	struct usdt_type_note *nt = calloc(1, sizeof *nt);
	size_t off = 0;
	int nstructs = 0, seen_req = 0, seen_inner_first = 0, probes = 0, rc;
	while (sec != NULL && (rc = usdt_type_note_next(sec, size, &off, nt)) > 0) {
		if (nt->type == USDT_NT_LIBUSDT_PROVIDER)
			CHECK(nt->version == USDT_TYPE_NOTE_VERSION && nt->version == 3, "provider note version %u",
			      nt->version);
		if (nt->type == USDT_NT_LIBUSDT_STRUCT) {
			nstructs++;
			if (strcmp(nt->struct_name, "inner") == 0)
				seen_inner_first = !seen_req;
			if (strcmp(nt->struct_name, "request") == 0) {
				seen_req = 1;
				int good = nt->struct_size == sizeof(struct request) && nt->nfields == NREQ &&
				           nt->struct_align == _Alignof(struct request);
				for (uint32_t i = 1; i < nt->nfields; i++)
					good &= nt->fields[i].offset > nt->fields[i - 1].offset;
				const struct usdt_type_note_field *f0 = &nt->fields[0], *f2 = &nt->fields[2];
				good &= strcmp(f0->name, "i8") == 0 && strcmp(f0->type, "int8_t") == 0 && f0->size == 1 &&
				        f0->kind == (USDT_FK_INT | USDT_FK_SIGNED);
				good &= strcmp(f2->name, "i16") == 0 && f2->offset == offsetof(struct request, i16);
				for (uint32_t i = 0; i < nt->nfields; i++) {
					const struct usdt_type_note_field *f = &nt->fields[i];
					if (strcmp(f->name, "name") == 0)
						good &= strcmp(f->type, "char[16]") == 0 && f->kind == USDT_FK_CHARS && f->size == 16;
					if (strcmp(f->name, "in") == 0)
						good &= strcmp(f->type, "struct inner") == 0 && f->kind == USDT_FK_STRUCT;
					if (strcmp(f->name, "next") == 0)
						good &= strcmp(f->type, "struct request *") == 0 && f->kind == USDT_FK_STRUCTPTR;
					if (strcmp(f->name, "json") == 0)
						good &= strcmp(f->type, "json") == 0 && f->kind == USDT_FK_JSON;
					if (strcmp(f->name, "u64") == 0)
						good &= f->kind == USDT_FK_INT && f->size == 8;
				}
				CHECK(good, "struct request note: size %u, %u fields in offset order, kinds and types exact",
				      nt->struct_size, nt->nfields);
			}
		}
		if (nt->type == USDT_NT_LIBUSDT_PROBE) {
			probes++;
			if (strcmp(nt->name, "req") == 0)
				CHECK(strcmp(nt->types[0], "struct request *") == 0 && strcmp(nt->types[1], "json") == 0 &&
				      strcmp(nt->types[2], "int") == 0, "probe note req: %s, %s, %s", nt->types[0],
				      nt->types[1], nt->types[2]);
			if (strcmp(nt->name, "js") == 0)
				CHECK(strcmp(nt->types[0], "json") == 0, "probe note js: %s", nt->types[0]);
		}
	}
	CHECK(nstructs == 2 && seen_req && seen_inner_first && probes == 2,
	      "two structure notes (inner before request), two probes");
	/* every truncation of the section: the reader stops, never reads past it */
	int bad_rc = 0;
	for (size_t cut = 0; sec != NULL && cut < size; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, sec, cut);
		memset(nt, 0, sizeof *nt);
		off = 0;
		while ((rc = usdt_type_note_next(copy, cut, &off, nt)) > 0)
			;
		bad_rc |= rc > 0;
		free(copy);
	}
	CHECK(!bad_rc, "every truncation of the %zu-byte section is read safely", size);
	free(nt);
	free(sec);
	/* DTrace: the native types of the DOF document */
	struct usdt_dof_probe_desc dp = { "f", "req", pd->argc, (const char *const *)pd->types, 0x10000, 0 };
	struct usdt_dof_provider_desc dv = { "structprov", "m", &dp, 1, 0x20000 };
	void *doc = NULL;
	size_t doclen = 0;
	char *dump = NULL;
	size_t dumplen = 0;
	int built = usdt_dof_build(USDT_DOF_ILLUMOS, &dv, &doc, &doclen, err, sizeof err) == 0;
	FILE *ms = open_memstream(&dump, &dumplen);
	if (built && ms != NULL)
		usdt_dof_dump(doc, doclen, ms);
	if (ms != NULL)
		fclose(ms);
	CHECK(built && dump != NULL && strstr(dump, "struct request *") != NULL && strstr(dump, "char *") != NULL &&
	      strstr(dump, "json") == NULL,
	      "DOF native types: \"struct request *\", \"char *\" for json, \"int\"%s%s", built ? "" : ": ",
	      built ? "" : err);
	free(doc);
	free(dump);
	CHECK(usdt_provider_enable(prov) == 0, "enable with a structure argument: %s", usdt_errstr(prov));
	usdt_probe_release(pd);
	usdt_probe_release(pd2);
	usdt_provider_free(prov);

	/* ---- concurrent registration ---- */
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, reg_thread, NULL);
	long failures = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		failures += (long)r;
	}
	CHECK(failures == 0, "%d threads registering the same %d names: no failure", NTHREADS, NAMES_PER_THREAD);
	const struct usdt_struct *st;
	char nm[USDT_STRUCT_NAME_MAX + 1];
	int found = 0;
	for (int i = 0; i < NAMES_PER_THREAD; i++) {
		char ty[48];
		snprintf(ty, sizeof ty, "struct race%d *", i);
		found += usdt_struct_parse_type(ty, 1, &st, nm) == 1 && st != NULL;
	}
	CHECK(found == NAMES_PER_THREAD, "each name registered (%d)", found);
	return check_done();
}
