/*
 * t_type_note.c — the type metadata (.note.libusdt, linux/type_note.h)
 * round-trips: a provider of mixed shapes (runs of one shape, alternating
 * shapes, names with '-', json and structure pointer arguments, argc 0, no
 * function, twin providers with different modules) is read back with the
 * reader the `usdt` command uses, every probe once, in index order, with
 * its module, function, name as created, argc and types; the same bytes
 * whether the writer copies names from the generation's Linux-form names
 * (what an enable gives it) or from the definitions; a 1000-probe provider
 * of one shape costs at most 8 bytes per probe, also in the object an
 * enable loads; hand-made sections in the version 2 format (short notes)
 * still read; corrupt or truncated probe-names notes are refused (-1),
 * never read out of bounds (exactly-sized copies: ASan sees overreads).
 */
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "backend.h"
#include "linux/type_note.h"
#include "names.h"
#include "structs.h"
#include "usdt.h"
#include "usdt_internal.h"

#ifndef USDT_NT_LIBUSDT_PROBE_NAMES
#define USDT_NT_LIBUSDT_PROBE_NAMES 0x75736405   /* lets this test build against version 2 */
#endif

struct tnreq {
	int a;
	const char *s;
};

/* A generation as usdt.c's collect() makes it: defs of every member in
 * order; with_names: bindings and gen->names (provider name, then each
 * probe's Linux-form name, back to back). */
static void make_gen(struct usdt_generation *gen, usdt_provider_t *const *members, size_t nmembers,
                     int with_names)
{
	size_t n = 0, bytes = strlen(members[0]->name) + 1;
	for (size_t m = 0; m < nmembers; m++)
		for (usdt_probedef_t *pd = members[m]->probedefs; pd != NULL; pd = pd->next) {
			n++;
			bytes += usdt_name_linux_len(pd->name) + 1;
		}
	memset(gen, 0, sizeof *gen);
	gen->nprobes = n;
	gen->defs = calloc(n ? n : 1, sizeof *gen->defs);
	if (with_names) {
		gen->bindings = calloc(n ? n : 1, sizeof *gen->bindings);
		gen->names = malloc(bytes);      /* exactly: ASan sees a read past the last name */
		strcpy(gen->names, members[0]->name);
	}
	char *q = with_names ? gen->names + strlen(members[0]->name) + 1 : NULL;
	size_t i = 0;
	for (size_t m = 0; m < nmembers; m++)
		for (usdt_probedef_t *pd = members[m]->probedefs; pd != NULL; pd = pd->next) {
			gen->defs[i] = pd;
			if (with_names) {
				gen->bindings[i].provider = gen->names;
				gen->bindings[i].name = q;
				gen->bindings[i].argc = pd->argc;
				q = usdt_name_linux(q, pd->name) + 1;
			}
			i++;
		}
}

static void free_gen(struct usdt_generation *gen)
{
	free(gen->defs);
	free(gen->bindings);
	free(gen->names);
}

static const char *module_of(const usdt_provider_t *provider, const usdt_probedef_t *pd)
{
	const usdt_provider_t *o = pd->_owner != NULL ? pd->_owner : provider;
	return o->module != NULL ? o->module : "";
}

/* Read sec back and compare with gen's definitions. Returns the number of
 * probes that matched (gen->nprobes when all did); *bad describes the
 * first mismatch. */
static size_t read_back(const uint8_t *sec, size_t size, const usdt_provider_t *provider,
                        const struct usdt_generation *gen, char *bad, size_t badsz)
{
	struct usdt_type_note *nt = calloc(1, sizeof *nt);
	size_t off = 0, good = 0, next = 0;
	int rc, provs = 0;
	bad[0] = '\0';
	while ((rc = usdt_type_note_next(sec, size, &off, nt)) > 0) {
		if (nt->type == USDT_NT_LIBUSDT_PROVIDER) {
			provs++;
			if (strcmp(nt->provider, provider->name) != 0 || nt->nprobes != gen->nprobes) {
				snprintf(bad, badsz, "provider note %s, %u probes", nt->provider, nt->nprobes);
				break;
			}
		}
		if (nt->type != USDT_NT_LIBUSDT_PROBE)
			continue;
		if (nt->index != next || next >= gen->nprobes) {
			snprintf(bad, badsz, "probe index %u, expected %zu", nt->index, next);
			break;
		}
		const usdt_probedef_t *pd = gen->defs[next++];
		int ok = strcmp(nt->module, module_of(provider, pd)) == 0 && strcmp(nt->function, pd->function) == 0 &&
		         strcmp(nt->name, pd->name) == 0 && nt->argc == pd->argc;
		for (size_t a = 0; ok && a < pd->argc; a++)
			ok = strcmp(nt->types[a], pd->_argflags[a] & USDT_ARGF_JSON ? "json" : pd->types[a]) == 0;
		if (!ok) {
			snprintf(bad, badsz, "probe %u: %s %s %s argc %u (%s), expected %s %s %s argc %zu", nt->index,
			         nt->module, nt->function, nt->name, nt->argc, nt->argc ? nt->types[0] : "-",
			         module_of(provider, pd), pd->function, pd->name, pd->argc);
			break;
		}
		good++;
	}
	if (rc < 0 && bad[0] == '\0')
		snprintf(bad, badsz, "reader returned -1 after %zu probes", good);
	if (provs != 1 && bad[0] == '\0')
		snprintf(bad, badsz, "%d provider notes", provs);
	free(nt);
	return bad[0] == '\0' ? good : 0;
}

static usdt_probedef_t *add(usdt_provider_t *p, const char *func, const char *name, size_t argc, const char **types)
{
	usdt_probedef_t *pd = usdt_create_probe(func, name, argc, types);
	if (pd == NULL || usdt_provider_add_probe(p, pd) != 0) {
		printf("# cannot add %s: %s\n", name, usdt_last_errstr());
		exit(1);
	}
	usdt_probe_release(pd);
	return pd;
}

/* ---- hand-made sections ---- */

struct sec {
	uint8_t b[4096];
	size_t n;
};

static void note(struct sec *s, uint32_t type, const void *desc, size_t descsz)
{
	uint32_t h[3] = { 8, (uint32_t)descsz, type };
	memcpy(s->b + s->n, h, sizeof h);
	memcpy(s->b + s->n + 12, "libusdt", 8);
	s->n += 20;
	memcpy(s->b + s->n, desc, descsz);
	memset(s->b + s->n + descsz, 0, (4 - descsz % 4) % 4);
	s->n += (descsz + 3) & ~(size_t)3;
}

/* A descriptor: u32 a, u32 b, then strings (len bytes of str, NULs inside). */
static size_t desc(uint8_t *d, uint32_t a, uint32_t b, const char *str, size_t len)
{
	memcpy(d, &a, 4);
	memcpy(d + 4, &b, 4);
	memcpy(d + 8, str, len);
	return 8 + len;
}

static void provider_note(struct sec *s, uint32_t version, uint32_t n)
{
	uint8_t d[64];
	note(s, USDT_NT_LIBUSDT_PROVIDER, d, desc(d, version, n, "hand", 5));
}

static void full_note(struct sec *s, uint32_t index)
{
	uint8_t d[64];
	note(s, USDT_NT_LIBUSDT_PROBE, d, desc(d, index, 1, "mod\0fn\0a\0int", 13));
}

/* Read s (an exactly-sized copy); returns the last rc, probes read in
 * *nprobes, their names in names (space-separated). */
static int read_hand(const struct sec *s, int *nprobes, char *names, size_t namesz)
{
	uint8_t *copy = malloc(s->n ? s->n : 1);
	memcpy(copy, s->b, s->n);
	struct usdt_type_note *nt = calloc(1, sizeof *nt);
	size_t off = 0;
	int rc, guard = 0;
	*nprobes = 0;
	names[0] = '\0';
	while ((rc = usdt_type_note_next(copy, s->n, &off, nt)) > 0 && guard++ < 100)
		if (nt->type == USDT_NT_LIBUSDT_PROBE) {
			++*nprobes;
			size_t l = strlen(names);
			snprintf(names + l, namesz - l, "%s%u:%s/%s/%s", l ? " " : "", nt->index, nt->module, nt->name,
			         nt->argc ? nt->types[0] : "");
		}
	free(nt);
	free(copy);
	return rc;
}

static void hand_made(void)
{
	struct sec s;
	uint8_t d[256];
	int np, rc;
	char names[512];

	/* version 2: a full note, then short ones */
	s.n = 0;
	provider_note(&s, 2, 3);
	full_note(&s, 0);
	note(&s, USDT_NT_LIBUSDT_PROBE_SAME, d, desc(d, 1, 1, "b", 2));
	note(&s, USDT_NT_LIBUSDT_PROBE_SAME, d, desc(d, 2, 1, "c-d", 4));
	rc = read_hand(&s, &np, names, sizeof names);
	CHECK(rc == 0 && np == 3 && strcmp(names, "0:mod/a/int 1:mod/b/int 2:mod/c-d/int") == 0,
	      "a version 2 section (short notes) reads: rc %d, %s", rc, names);

	/* version 3: full, names, then a short note still takes the full note's shape */
	s.n = 0;
	provider_note(&s, 3, 5);
	full_note(&s, 0);
	note(&s, USDT_NT_LIBUSDT_PROBE_NAMES, d, desc(d, 1, 3, "b\0c-d\0e", 8));
	note(&s, USDT_NT_LIBUSDT_PROBE_SAME, d, desc(d, 4, 1, "f", 2));
	rc = read_hand(&s, &np, names, sizeof names);
	CHECK(rc == 0 && np == 5 && strcmp(names, "0:mod/a/int 1:mod/b/int 2:mod/c-d/int 3:mod/e/int 4:mod/f/int") == 0,
	      "a probe-names note gives one probe per call: rc %d, %s", rc, names);

	/* corrupt names notes: -1, after the names that are there */
	static const struct {
		uint32_t first, count;
		const char *str;
		size_t len;
		int full, probes;
		const char *what;
	} bad[] = {
		{ 1, 3, "b\0c", 4, 1, 3, "count 3, two names" },
		{ 1, 2, "b\0cd", 4, 1, 2, "the last name not NUL-terminated" },
		{ 1, 1, "b", 2, 0, 0, "no full probe note before it" },
		{ 0xfffffffeu, 3, "b\0c\0d", 6, 1, 1, "first + count past 2^32" },
		{ 1, 0, "", 0, 1, 1, "count 0" },
		{ 1, 1000000, "b", 2, 1, 2, "a huge count" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		s.n = 0;
		provider_note(&s, 3, 3);
		if (bad[k].full)
			full_note(&s, 0);
		note(&s, USDT_NT_LIBUSDT_PROBE_NAMES, d, desc(d, bad[k].first, bad[k].count, bad[k].str, bad[k].len));
		rc = read_hand(&s, &np, names, sizeof names);
		CHECK(rc == -1 && np == bad[k].probes, "names note with %s: rc %d after %d probes (%s)", bad[k].what, rc,
		      np, names);
	}
	/* a descriptor shorter than first and count */
	s.n = 0;
	provider_note(&s, 3, 1);
	full_note(&s, 0);
	note(&s, USDT_NT_LIBUSDT_PROBE_NAMES, d, desc(d, 1, 1, "", 0) - 4);
	rc = read_hand(&s, &np, names, sizeof names);
	CHECK(rc == -1 && np == 1, "names note of 4 bytes: rc %d after %d probes", rc, np);
}

/* Every truncation of sec, each an exactly-sized copy: the reader stops
 * (0 or -1) and never reads past it. */
static int truncations_safe(const uint8_t *sec, size_t size)
{
	struct usdt_type_note *nt = calloc(1, sizeof *nt);
	int bad = 0;
	for (size_t cut = 0; cut < size; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, sec, cut);
		memset(nt, 0, sizeof *nt);
		size_t off = 0, steps = 0;
		int rc;
		while ((rc = usdt_type_note_next(copy, cut, &off, nt)) > 0 && steps++ < 100000)
			;
		bad |= rc > 0;
		free(copy);
	}
	free(nt);
	return !bad;
}

/* The .note.libusdt section of the loaded object of provider `name` with n
 * probes, found through /proc/self/fd (a malloc'd copy), or NULL. */
static uint8_t *live_section(const char *name, size_t n, size_t *size)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	uint8_t *found = NULL;
	while (dir != NULL && found == NULL && (e = readdir(dir)) != NULL) {
		char path[300], link[256];
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		ssize_t l = readlink(path, link, sizeof link - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (strstr(link, "libusdt") == NULL)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		size_t len = (size_t)st.st_size;
		uint8_t *img = malloc(len);
		int ok = img != NULL && pread(fd, img, len, 0) == (ssize_t)len;
		close(fd);
		const ElfW(Ehdr) *eh = (const void *)img;
		ok = ok && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_shentsize == sizeof(ElfW(Shdr)) &&
		     eh->e_shoff < len && eh->e_shnum <= (len - eh->e_shoff) / sizeof(ElfW(Shdr)) &&
		     eh->e_shstrndx < eh->e_shnum;
		for (size_t k = 0; ok && found == NULL && k < eh->e_shnum; k++) {
			const ElfW(Shdr) *sh = (const void *)(img + eh->e_shoff + k * sizeof(ElfW(Shdr)));
			const ElfW(Shdr) *ss = (const void *)(img + eh->e_shoff + eh->e_shstrndx * sizeof(ElfW(Shdr)));
			if (ss->sh_offset >= len || sh->sh_name >= len - ss->sh_offset || sh->sh_offset > len ||
			    sh->sh_size > len - sh->sh_offset)
				continue;
			const char *sn = (const char *)img + ss->sh_offset + sh->sh_name;
			if (strnlen(sn, len - ss->sh_offset - sh->sh_name) == len - ss->sh_offset - sh->sh_name ||
			    strcmp(sn, USDT_TYPE_NOTE_SECTION) != 0)
				continue;
			struct usdt_type_note *nt = calloc(1, sizeof *nt);
			size_t off = 0;
			if (usdt_type_note_next(img + sh->sh_offset, sh->sh_size, &off, nt) > 0 &&
			    nt->type == USDT_NT_LIBUSDT_PROVIDER && strcmp(nt->provider, name) == 0 && nt->nprobes == n) {
				found = malloc(sh->sh_size ? sh->sh_size : 1);
				memcpy(found, img + sh->sh_offset, sh->sh_size);
				*size = sh->sh_size;
			}
			free(nt);
		}
		free(img);
	}
	if (dir != NULL)
		closedir(dir);
	return found;
}

int main(void)
{
	char err[USDT_ERRMSG_MAX], bad[512];
	static const usdt_field_t req_f[] = { { "a", "int", offsetof(struct tnreq, a) },
		                              { "s", "char *", offsetof(struct tnreq, s) } };
	CHECK(usdt_register_struct("tnreq", sizeof(struct tnreq), 2, req_f) == 0, "register struct tnreq: %s",
	      usdt_last_errstr());

	/* ---- mixed shapes, twin providers ---- */
	usdt_provider_t *pa = usdt_create_provider("tnmix", "modA"), *pb = usdt_create_provider("tnmix", "modB");
	const char *t_is[] = { "int", "char *" }, *t_l[] = { "long" }, *t_ul[] = { "unsigned long" };
	const char *t_ji[] = { "json", "int" }, *t_si[] = { "char *", "int" }, *t_st[] = { "struct tnreq *", "json" };
	const char *t_many[] = { "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
		                 "uint64_t", "char *", "void *", "bool", "long" };
	char nm[32];
	for (int i = 0; i < 5; i++) {           /* a run of one shape */
		snprintf(nm, sizeof nm, "run%d", i);
		add(pa, "f", nm, 2, t_is);
	}
	for (int i = 0; i < 4; i++) {           /* alternating functions, then types */
		snprintf(nm, sizeof nm, "alt%d", i);
		add(pa, i % 2 ? "g" : "f", nm, 1, t_l);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(nm, sizeof nm, "altt%d", i);
		add(pa, "f", nm, 1, i % 2 ? t_ul : t_l);
	}
	add(pa, "f", "x1", 2, t_is);            /* '-' inside a run, first, last */
	add(pa, "f", "with-dash", 2, t_is);
	add(pa, "f", "x3", 2, t_is);
	add(pa, "f", "two--dashes-", 2, t_is);
	add(pa, "f", "x5", 2, t_is);
	add(pa, "h", "-lead", 1, t_l);
	add(pa, "h", "y2", 1, t_l);
	add(pa, "h", "y-3", 1, t_l);
	for (int i = 0; i < 3; i++) {           /* json, then char * with the same type pointer */
		snprintf(nm, sizeof nm, "js%d", i);
		add(pa, "j", nm, 2, t_ji);
	}
	add(pa, "j", "str0", 2, t_si);
	add(pa, "j", "str1", 2, t_si);
	add(pa, "s", "st0", 2, t_st);           /* structure pointers */
	add(pa, "s", "st1", 2, t_st);
	add(pa, NULL, "nofunc0", 0, NULL);      /* argc 0, no function */
	add(pa, NULL, "nofunc1", 0, NULL);
	add(pa, "", "nofunc2", 0, NULL);
	add(pa, "many", "m0", 12, t_many);
	add(pa, "many", "m1", 12, t_many);
	add(pa, "last", "lone", 1, t_l);        /* a run of one, then the twin */
	add(pb, "last", "lone-b", 1, t_l);      /* same shape, another module */
	add(pb, "last", "b1", 1, t_l);
	add(pb, "last", "b2", 1, t_l);
	add(pb, "f", "b3", 2, t_is);
	usdt_provider_t *twins[] = { pa, pb };
	struct usdt_generation g1, g0;
	make_gen(&g1, twins, 2, 1);
	make_gen(&g0, twins, 2, 0);
	size_t s1 = 0, s0 = 0;
	uint8_t *sec1 = usdt_type_note_build(pa, &g1, &s1, err), *sec0 = usdt_type_note_build(pa, &g0, &s0, err);
	CHECK(sec1 != NULL && sec0 != NULL, "mixed provider: metadata built (%zu bytes)", s1);
	size_t got = sec1 ? read_back(sec1, s1, pa, &g1, bad, sizeof bad) : 0;
	CHECK(got == g1.nprobes, "mixed provider: all %zu probes read back (%zu) %s", g1.nprobes, got, bad);
	CHECK(sec1 && sec0 && s1 == s0 && memcmp(sec1, sec0, s1) == 0,
	      "the same bytes with and without the generation's names (%zu, %zu bytes)", s1, s0);
	struct usdt_type_note *nt = calloc(1, sizeof *nt);
	size_t off = 0;
	int structs = 0, version = 0;
	while (sec1 && usdt_type_note_next(sec1, s1, &off, nt) > 0) {
		structs += nt->type == USDT_NT_LIBUSDT_STRUCT && strcmp(nt->struct_name, "tnreq") == 0;
		if (nt->type == USDT_NT_LIBUSDT_PROVIDER)
			version = (int)nt->version;
	}
	CHECK(structs == 1 && version == USDT_TYPE_NOTE_VERSION, "struct tnreq once, version %d", version);
	CHECK(sec1 && truncations_safe(sec1, s1), "every truncation of the %zu-byte section is read safely", s1);
	free(sec0);
	free(sec1);
	free_gen(&g0);
	free_gen(&g1);

	/* the same from the object an enable loads */
	CHECK(usdt_provider_enable(pa) == 0 && usdt_provider_enable(pb) == 0, "twins enabled: %s",
	      usdt_errstr(pa) ? usdt_errstr(pa) : "");
	make_gen(&g1, twins, 2, 0);
	size_t ls = 0;
	uint8_t *live = live_section("tnmix", g1.nprobes, &ls);
	got = live ? read_back(live, ls, pa, &g1, bad, sizeof bad) : 0;
	CHECK(live != NULL && got == g1.nprobes, "loaded object's %zu-byte section: %zu of %zu probes %s", ls, got,
	      g1.nprobes, live ? bad : "(object not found)");
	free(live);
	free_gen(&g1);
	usdt_provider_free(pb);
	usdt_provider_free(pa);

	/* ---- 1000 probes of one shape: at most 8 bytes each ---- */
	usdt_provider_t *big = usdt_create_provider("tnbig", "m");
	const char *t2[] = { "long", "long" };
	for (int i = 0; i < 1000; i++) {
		snprintf(nm, sizeof nm, "p%d", i);
		add(big, "m", nm, 2, t2);
	}
	make_gen(&g1, &big, 1, 1);
	uint8_t *sb = usdt_type_note_build(big, &g1, &s1, err);
	got = sb ? read_back(sb, s1, big, &g1, bad, sizeof bad) : 0;
	CHECK(sb != NULL && got == 1000 && s1 <= 8 * 1000,
	      "1000 probes of one shape: %zu bytes (%.1f per probe, at most 8), %zu read back %s", s1, s1 / 1000.0, got,
	      bad);
	free(sb);
	CHECK(usdt_provider_enable(big) == 0, "tnbig enabled: %s", usdt_errstr(big) ? usdt_errstr(big) : "");
	live = live_section("tnbig", 1000, &ls);
	got = live ? read_back(live, ls, big, &g1, bad, sizeof bad) : 0;
	CHECK(live != NULL && ls <= 8 * 1000 && got == 1000, "in the loaded object: %zu bytes, %zu probes read back %s",
	      ls, got, bad);
	free(live);
	free_gen(&g1);
	usdt_provider_free(big);

	hand_made();
	free(nt);
	return check_done();
}
