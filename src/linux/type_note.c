/*
 * type_note.c — write and read ".note.libusdt", the per-probe type
 * metadata of a runtime ELF object (format in type_note.h). The writer runs
 * at every enable, in two steps: usdt_type_note_plan() sizes the section,
 * elf_image.c leaves that much room for it (a non-allocated section) and
 * usdt_type_note_write() fills it in place, in the image (backend_elf.c);
 * each note's header is written after its descriptor, whose size is known
 * then. The probes go as runs of one shape (type_note.h): the plan finds
 * the runs in one pass over the definitions, and the writer reads again
 * only the definition that starts each run, copying the other names from
 * the generation's names (plan->same flags which can be). The reader is
 * used by the `usdt` command, which reads objects of other processes and
 * therefore checks every length against the section's bounds.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "linux/type_note.h"
#include "structs.h"
#include "usdt_internal.h"

#define NOTE_ALIGN 4
#define NOTE_HDR_SIZE (3 * sizeof(uint32_t))      /* namesz, descsz, type */
/* A probe note's fixed part (index, argc) and a provider note's. */
#define PROBE_FIXED (2 * sizeof(uint32_t))
#define PROVIDER_FIXED (2 * sizeof(uint32_t))

static size_t pad4(size_t v)
{
	return (v + NOTE_ALIGN - 1) & ~(size_t)(NOTE_ALIGN - 1);
}

static size_t note_bytes(size_t descsz)
{
	return NOTE_HDR_SIZE + pad4(sizeof USDT_TYPE_NOTE_OWNER) + pad4(descsz);
}

static const char *module_of(const usdt_provider_t *provider, const usdt_probedef_t *pd)
{
	const usdt_provider_t *owner = pd->_owner != NULL ? pd->_owner : provider;
	return owner->module != NULL ? owner->module : "";
}

/* The type an argument has in the metadata: "json" for a JSON string
 * (probedef->types[] says "char *", what DTrace gets), else types[a]. */
static const char *meta_type(const usdt_probedef_t *pd, size_t a)
{
	return pd->_argflags[a] & USDT_ARGF_JSON ? "json" : pd->types[a];
}

/* A full probe note's descriptor, for a name of namelen bytes. */
static size_t probe_desc_size(const usdt_provider_t *provider, const usdt_probedef_t *pd, size_t namelen)
{
	size_t n = PROBE_FIXED + strlen(module_of(provider, pd)) + 1 + strlen(pd->function) + 1 + namelen + 1;
	for (size_t a = 0; a < pd->argc; a++)
		n += strlen(meta_type(pd, a)) + 1;
	return n;
}

/* ---- structure notes ---- */

struct struct_set {
	const struct usdt_struct **v;
	size_t n, cap;
	int nomem;
};

/* Add s and the structures it refers to, those it contains inline first. */
static void struct_add(struct struct_set *set, const struct usdt_struct *s)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i] == s)
			return;
	for (size_t f = 0; f < s->nfields; f++)
		if ((s->fields[f].kind & USDT_FK_KIND_MASK) == USDT_FK_STRUCT)
			struct_add(set, s->fields[f].sub);
	for (size_t i = 0; i < set->n; i++)     /* a cycle through pointers added it */
		if (set->v[i] == s)
			return;
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 8;
		const struct usdt_struct **v = realloc(set->v, cap * sizeof *v);
		if (v == NULL) {
			set->nomem = 1;
			return;
		}
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = s;
	for (size_t f = 0; f < s->nfields; f++)
		if ((s->fields[f].kind & USDT_FK_KIND_MASK) == USDT_FK_STRUCTPTR)
			struct_add(set, s->fields[f].sub);
}

#define STRUCT_FIXED (3 * sizeof(uint32_t))       /* size, alignment, nfields */
#define FIELD_FIXED (3 * sizeof(uint32_t))        /* offset, size, kind */

static size_t struct_desc_size(const struct usdt_struct *s)
{
	size_t n = STRUCT_FIXED + strlen(s->name) + 1;
	for (size_t f = 0; f < s->nfields; f++)
		n += FIELD_FIXED + strlen(s->fields[f].name) + 1 + strlen(s->fields[f].type) + 1;
	return n;
}

/* Write one note header and owner; returns where the descriptor goes. */
static uint8_t *put_head(uint8_t *q, size_t descsz, uint32_t type)
{
	uint32_t h[3] = { sizeof USDT_TYPE_NOTE_OWNER, (uint32_t)descsz, type };
	memcpy(q, h, sizeof h);
	memcpy(q + sizeof h, USDT_TYPE_NOTE_OWNER, sizeof USDT_TYPE_NOTE_OWNER);
	return q + sizeof h + pad4(sizeof USDT_TYPE_NOTE_OWNER);
}

static uint8_t *put_str(uint8_t *q, const char *s)
{
	size_t n = strlen(s) + 1;
	memcpy(q, s, n);
	return q + n;
}

/* strcmp(a, b) == 0, inline: the strings compared here (function
 * names, a name and its Linux form) are a few bytes long, shorter than
 * what a library call costs. */
static int str_eq(const char *a, const char *b)
{
	while (*a == *b && *a != '\0')
		a++, b++;
	return *a == *b;
}

/* Does pd have the shape of h, the first probe of a run: same argc,
 * types, argument flags, module and function? Types are compared by
 * address first (probedef->types[] point at the type table's canonical
 * spellings, or a registered structure's), modules through the owner
 * first; only the function is a string compare (each definition has its
 * own copy). */
static int same_shape(const usdt_provider_t *provider, const usdt_probedef_t *h, const usdt_probedef_t *pd)
{
	size_t argc = pd->argc;
	if (argc != h->argc)
		return 0;
	/* the flags 8 at a time, past argc too: zero in definitions
	 * usdt_create_probe() makes, and a difference there would only
	 * start another run (a library memcmp costs more than this loop) */
	_Static_assert(sizeof pd->_argflags % sizeof(uint64_t) == 0, "whole words of flags");
	for (size_t a = 0; a < sizeof pd->_argflags; a += sizeof(uint64_t)) {
		uint64_t x, y;
		memcpy(&x, pd->_argflags + a, sizeof x);
		memcpy(&y, h->_argflags + a, sizeof y);
		if (x != y)
			return 0;
	}
	for (size_t a = 0; a < argc; a++)
		if (pd->types[a] != h->types[a] && strcmp(pd->types[a], h->types[a]) != 0)
			return 0;
	if (pd->_owner != h->_owner) {
		const char *ma = module_of(provider, h), *mb = module_of(provider, pd);
		if (ma != mb && strcmp(ma, mb) != 0)
			return 0;
	}
	return pd->function == h->function || str_eq(pd->function, h->function);
}

/* Zero the padding after a descriptor of descsz bytes written at d. */
static void pad_desc(uint8_t *d, size_t descsz)
{
	memset(d + descsz, 0, pad4(descsz) - descsz);
}

size_t usdt_type_note_plan(const usdt_provider_t *provider, const struct usdt_generation *gen,
                           struct usdt_type_note_plan *plan, char *err)
{
	size_t n = gen->nprobes;
	/* the Linux-form names, when the generation has them (backend.h) */
	const struct usdt_binding *b = gen->bindings != NULL && gen->names != NULL ? gen->bindings : NULL;
	size_t total = note_bytes(PROVIDER_FIXED + strlen(provider->name) + 1);
	struct struct_set set = { NULL, 0, 0, 0 };
	const usdt_probedef_t *head = NULL;     /* first probe of the current run */
	size_t names = 0;                       /* its probe-names descriptor so far, or 0 */
	for (size_t i = 0; i < n; i++) {
		const usdt_probedef_t *pd = gen->defs[i];
		USDT_PREFETCH_DEF(gen->defs, i, n, name);
		USDT_PREFETCH_DEF(gen->defs, i, n, _argflags);
		if (head != NULL && same_shape(provider, head, pd)) {
			uint8_t fl = USDT_TN_SAME;
			size_t len;
			if (b != NULL && i + 1 < n) {
				/* the name as created is its Linux form (no '-') and the
				 * next name follows it: copied with its neighbours. One
				 * pass over both, stopping at the first difference
				 * (never past the Linux form's NUL), then the rest */
				const char *c = pd->name, *l = b[i].name;
				while (*c == *l && *c != '\0')
					c++, l++;
				len = (size_t)(c - pd->name) + (*c != '\0' ? strlen(c) : 0);
				if (*c == *l && (uintptr_t)b[i + 1].name - (uintptr_t)b[i].name == len + 1)
					fl |= USDT_TN_PLAIN;
			} else {
				len = strlen(pd->name);
			}
			names += (names == 0 ? PROBE_FIXED : 0) + len + 1;
			plan->same[i] = fl;
			continue;
		}
		size_t len = strlen(pd->name);
		plan->same[i] = 0;
		if (names != 0)
			total += note_bytes(names);
		names = 0;
		head = pd;
		total += note_bytes(probe_desc_size(provider, pd, len));
		for (size_t a = 0; a < pd->argc; a++)   /* the run's other probes have the same */
			if (pd->_argflags[a] & USDT_ARGF_STRUCT)
				struct_add(&set, usdt_struct_of_ptr_type(pd->types[a]));
	}
	if (names != 0)
		total += note_bytes(names);
	if (set.nomem) {
		free(set.v);
		usdt_errf(err, "out of memory building the type metadata of %zu probes", n);
		return 0;
	}
	for (size_t k = 0; k < set.n; k++)
		total += note_bytes(struct_desc_size(set.v[k]));
	if (total > UINT32_MAX) {
		free(set.v);
		usdt_errf(err, "provider %s: type metadata would exceed 4 GiB", provider->name);
		return 0;
	}
	plan->structs = set.v;
	plan->nstructs = set.n;
	plan->size = total;
	return total;
}

void usdt_type_note_plan_free(struct usdt_type_note_plan *plan)
{
	free(plan->structs);
	plan->structs = NULL;
	plan->nstructs = 0;
}

/* A note whose descriptor was written from d up to end: its header (the
 * size is known now), the descriptor's padding; returns the next note. */
static uint8_t *close_note(uint8_t *q, uint8_t *d, uint8_t *end, uint32_t type)
{
	size_t descsz = (size_t)(end - d);
	put_head(q, descsz, type);
	pad_desc(d, descsz);
	return d + pad4(descsz);
}

void usdt_type_note_write(const usdt_provider_t *provider, const struct usdt_generation *gen,
                          struct usdt_type_note_plan *plan, uint8_t *buf)
{
	size_t n = gen->nprobes;
	/* each descriptor starts after its header and owner */
	const size_t at = NOTE_HDR_SIZE + pad4(sizeof USDT_TYPE_NOTE_OWNER);
	uint8_t *q = buf, *d = q + at;
	uint32_t fixed[2] = { USDT_TYPE_NOTE_VERSION, (uint32_t)n };
	memcpy(d, fixed, sizeof fixed);
	q = close_note(q, d, put_str(d + sizeof fixed, provider->name), USDT_NT_LIBUSDT_PROVIDER);
	for (size_t k = 0; k < plan->nstructs; k++) {
		const struct usdt_struct *st = plan->structs[k];
		d = q + at;
		uint32_t head[3] = { st->size, st->align, (uint32_t)st->nfields };
		memcpy(d, head, sizeof head);
		uint8_t *s = put_str(d + sizeof head, st->name);
		for (size_t f = 0; f < st->nfields; f++) {
			uint32_t fx[3] = { st->fields[f].offset, st->fields[f].size, st->fields[f].kind };
			memcpy(s, fx, sizeof fx);
			s = put_str(s + sizeof fx, st->fields[f].name);
			s = put_str(s, st->fields[f].type);
		}
		q = close_note(q, d, s, USDT_NT_LIBUSDT_STRUCT);
	}
	const uint8_t *same = plan->same;
	const struct usdt_binding *b = gen->bindings;
	for (size_t i = 0; i < n;) {
		/* a run: the full note of its first probe */
		const usdt_probedef_t *pd = gen->defs[i];
		d = q + at;
		uint32_t head[2] = { (uint32_t)i, (uint32_t)pd->argc };
		memcpy(d, head, sizeof head);
		uint8_t *s = put_str(d + sizeof head, module_of(provider, pd));
		s = put_str(s, pd->function);
		s = put_str(s, pd->name);
		for (size_t a = 0; a < pd->argc; a++)
			s = put_str(s, meta_type(pd, a));
		q = close_note(q, d, s, USDT_NT_LIBUSDT_PROBE);
		size_t j = i + 1;
		if (j < n && (same[j] & USDT_TN_SAME)) {
			/* the names of the rest of the run */
			d = q + at;
			s = d + PROBE_FIXED;
			while (j < n && (same[j] & USDT_TN_SAME)) {
				if (same[j] & USDT_TN_PLAIN) {
					/* each plain name is followed by the next one (so
					 * k < n): copy them together */
					size_t k = j + 1;
					while ((same[k] & (USDT_TN_SAME | USDT_TN_PLAIN)) == (USDT_TN_SAME | USDT_TN_PLAIN))
						k++;
					size_t bytes = (size_t)((uintptr_t)b[k].name - (uintptr_t)b[j].name);
					memcpy(s, b[j].name, bytes);
					s += bytes;
					j = k;
				} else {
					s = put_str(s, gen->defs[j]->name);
					j++;
				}
			}
			uint32_t run[2] = { (uint32_t)(i + 1), (uint32_t)(j - i - 1) };
			memcpy(d, run, sizeof run);
			q = close_note(q, d, s, USDT_NT_LIBUSDT_PROBE_NAMES);
		}
		i = j;
	}
	usdt_type_note_plan_free(plan);
}

uint8_t *usdt_type_note_build(const usdt_provider_t *provider, const struct usdt_generation *gen, size_t *size,
                              char *err)
{
	size_t n = gen->nprobes;
	struct usdt_type_note_plan plan = { 0 };
	plan.same = malloc(n ? n : 1);
	if (plan.same == NULL) {
		usdt_errf(err, "out of memory building the type metadata of %zu probes", n);
		return NULL;
	}
	uint8_t *buf = NULL;
	if (usdt_type_note_plan(provider, gen, &plan, err) != 0) {
		buf = malloc(plan.size);
		if (buf == NULL) {
			usdt_errf(err, "out of memory building the type metadata of %zu probes", n);
			usdt_type_note_plan_free(&plan);
		} else {
			usdt_type_note_write(provider, gen, &plan, buf);
			*size = plan.size;
		}
	}
	free(plan.same);
	return buf;
}

/* The next NUL-terminated string in [*p, end), or NULL. */
static const char *take_str(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	if (nul == NULL)
		return NULL;
	const char *s = (const char *)*p;
	*p = nul + 1;
	return s;
}

/* The next probe of the probe-names note whose descriptor is d[0..descsz)
 * (at offset dat in the section), into note; prev is the previous call's
 * note (the run's shape, and the place in this note if inside it).
 * Returns 1 with note->names_left 0 after the last name, 1 with
 * names_left > 0 before, -1 if the note is malformed. */
static int names_next(const uint8_t *d, size_t descsz, size_t dat, const struct usdt_type_note *prev,
                      struct usdt_type_note *note)
{
	uint32_t first, count;
	if (descsz < PROBE_FIXED || prev->module == NULL)
		return -1;
	memcpy(&first, d, sizeof first);
	memcpy(&count, d + 4, sizeof count);
	if (count == 0 || count - 1 > UINT32_MAX - first)
		return -1;
	const uint8_t *p = d + PROBE_FIXED, *end = d + descsz;
	uint32_t k = 0;                         /* names read before this one */
	if (prev->names_left != 0) {            /* inside this note: where it stopped */
		if (prev->names_left >= count || prev->names_at < dat + PROBE_FIXED || prev->names_at >= dat + descsz)
			return -1;
		k = count - prev->names_left;
		p = d + (prev->names_at - dat);
	}
	if ((note->name = take_str(&p, end)) == NULL)
		return -1;
	note->index = first + k;
	note->argc = prev->argc;
	note->module = prev->module;
	note->function = prev->function;
	memcpy(note->types, prev->types, sizeof note->types);
	note->type = USDT_NT_LIBUSDT_PROBE;
	note->names_left = count - k - 1;
	note->names_at = note->names_left != 0 ? dat + (size_t)(p - d) : 0;
	return 1;
}

int usdt_type_note_next(const uint8_t *sec, size_t size, size_t *off, struct usdt_type_note *note)
{
	uint32_t h[3];
	struct usdt_type_note prev = *note;     /* for a "same as previous" note */
	memset(note, 0, sizeof *note);
	if (*off >= size)
		return 0;
	if (size - *off < sizeof h)
		return -1;
	memcpy(h, sec + *off, sizeof h);
	size_t namesz = h[0], descsz = h[1];
	size_t avail = size - *off - sizeof h;
	if (namesz > avail || descsz > avail || pad4(namesz) > avail || pad4(descsz) > avail - pad4(namesz))
		return -1;                          /* (the first two: pad4 wraps with a 32-bit size_t) */
	const uint8_t *name = sec + *off + sizeof h;
	const uint8_t *d = name + pad4(namesz), *end = d + descsz;
	size_t next = *off + sizeof h + pad4(namesz) + pad4(descsz);
	if (namesz != sizeof USDT_TYPE_NOTE_OWNER || memcmp(name, USDT_TYPE_NOTE_OWNER, namesz) != 0) {
		*off = next;
		return 1;                           /* not ours: type 0 */
	}
	if (h[2] == USDT_NT_LIBUSDT_PROBE_NAMES) {
		if (names_next(d, descsz, (size_t)(d - sec), &prev, note) != 1)
			return -1;
		if (note->names_left == 0)
			*off = next;
		return 1;
	}
	*off = next;
	if (h[2] == USDT_NT_LIBUSDT_PROVIDER) {
		if (descsz < PROVIDER_FIXED)
			return -1;
		memcpy(&note->version, d, sizeof note->version);
		memcpy(&note->nprobes, d + 4, sizeof note->nprobes);
		d += PROVIDER_FIXED;
		if ((note->provider = take_str(&d, end)) == NULL)
			return -1;
		note->type = h[2];
	} else if (h[2] == USDT_NT_LIBUSDT_PROBE) {
		if (descsz < PROBE_FIXED)
			return -1;
		memcpy(&note->index, d, sizeof note->index);
		memcpy(&note->argc, d + 4, sizeof note->argc);
		d += PROBE_FIXED;
		if (note->argc > USDT_ARG_MAX)
			return -1;
		if ((note->module = take_str(&d, end)) == NULL || (note->function = take_str(&d, end)) == NULL ||
		    (note->name = take_str(&d, end)) == NULL)
			return -1;
		for (uint32_t a = 0; a < note->argc; a++)
			if ((note->types[a] = take_str(&d, end)) == NULL)
				return -1;
		note->type = h[2];
	} else if (h[2] == USDT_NT_LIBUSDT_STRUCT) {
		uint32_t head[3];
		if (descsz < sizeof head)
			return -1;
		memcpy(head, d, sizeof head);
		d += sizeof head;
		note->struct_size = head[0];
		note->struct_align = head[1];
		note->nfields = head[2];
		if (note->nfields > USDT_STRUCT_FIELDS_MAX || (note->struct_name = take_str(&d, end)) == NULL)
			return -1;
		for (uint32_t f = 0; f < note->nfields; f++) {
			struct usdt_type_note_field *fl = &note->fields[f];
			uint32_t fx[3];
			if ((size_t)(end - d) < sizeof fx)
				return -1;
			memcpy(fx, d, sizeof fx);
			d += sizeof fx;
			fl->offset = fx[0];
			fl->size = fx[1];
			fl->kind = fx[2];
			if ((fl->name = take_str(&d, end)) == NULL || (fl->type = take_str(&d, end)) == NULL)
				return -1;
		}
		note->type = h[2];
		/* a following short probe note still refers to the last full one */
		note->module = prev.module;
		note->function = prev.function;
		note->argc = prev.argc;
		memcpy(note->types, prev.types, sizeof note->types);
	} else if (h[2] == USDT_NT_LIBUSDT_PROBE_SAME) {
		if (descsz < PROBE_FIXED || prev.module == NULL)
			return -1;
		memcpy(&note->index, d, sizeof note->index);
		memcpy(&note->argc, d + 4, sizeof note->argc);
		d += PROBE_FIXED;
		if (note->argc != prev.argc || (note->name = take_str(&d, end)) == NULL)
			return -1;
		note->module = prev.module;
		note->function = prev.function;
		memcpy(note->types, prev.types, sizeof note->types);
		note->type = USDT_NT_LIBUSDT_PROBE;
	}
	return 1;
}
