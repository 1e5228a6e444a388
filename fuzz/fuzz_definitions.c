/*
 * fuzz_definitions.c — libFuzzer target: the definition API driven by
 * arbitrary bytes, checked against a model of what it must do.
 *
 * The input is a program of operations on up to 4 providers and 8 probe
 * definitions: create a provider (name and module from the input: any
 * bytes, or mutations of valid names), create a probe (function, name,
 * argc 0..40, type strings picked from the accepted list, mangled, or raw
 * bytes), add, add again (duplicates), remove, release, enable, fire,
 * disable, free. After every call the result is compared with the model:
 *   - a name is accepted only if it obeys the documented rules (charset,
 *     length, first/last character), and every name that obeys them (and is
 *     not a reserved provider name) is accepted;
 *   - a type string that is one of the documented spellings is accepted, a
 *     type string that is none of them modulo spaces is refused;
 *   - add succeeds exactly when the (function, name) pair is new to the
 *     provider, the definition is not in another provider and the DTrace
 *     tuple fits; remove exactly when the definition is in the provider;
 *   - accepted types are kept in a documented spelling;
 *   - reference counts, probedefs order, probedef->probe while enabled;
 *   - every failure has a code and a non-empty message.
 * Anything else aborts (a finding). Leaks are LeakSanitizer's to find; at
 * the end of each input every object is freed and no libusdt fd remains.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_count.h"
#include "fuzz_input.h"
#include "usdt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPROV 4
#define NDEF 8
#define MAXENABLE 3

#define FAIL(...) do { fprintf(stderr, "fuzz_definitions: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

static const char *const good_types[] = {
	"int", "unsigned int", "unsigned", "short", "unsigned short", "char", "signed char", "unsigned char",
	"long", "unsigned long", "long long", "unsigned long long", "int8_t", "uint8_t", "int16_t", "uint16_t",
	"int32_t", "uint32_t", "int64_t", "uint64_t", "intptr_t", "uintptr_t", "size_t", "ssize_t", "off_t",
	"pid_t", "uid_t", "gid_t", "bool", "_Bool", "char *", "const char *", "void *", "const void *",
	/* also accepted by types.c (not listed in usdt.h) */
	"signed int", "signed", "signed short", "short int", "unsigned short int", "signed long", "long int",
	"unsigned long int", "long long int",
};
#define NGOOD (sizeof good_types / sizeof good_types[0])
static const char *const seeds[] = { "app", "core", "request", "f", "a_b", "X", "main.c", "lib-x.so", "" };
static const char *const reserved[] = { "pid", "fbt", "syscall", "profile", "proc", "sched", "io", "dtrace",
	                                "lockstat", "sdt", "fasttrap", "usdt", "stapsdt" };

/* A name: raw bytes (NUL ends it early), or a seed with one byte changed,
 * or a long run of one character, or NULL. Returns NULL or buf. */
static char *get_name(struct in *in, char *buf, size_t cap)
{
	unsigned mode = get(in) % 8, len, i;
	switch (mode) {
	case 0:
		return NULL;
	case 1: case 2: case 3:
		len = get(in) % 70;
		for (i = 0; i < len && i + 1 < cap; i++) {
			buf[i] = (char)get(in);
			if (buf[i] == '\0')
				break;
		}
		buf[i] = '\0';
		return buf;
	case 4:
		len = 40 + get(in) % 100;     /* around every length limit */
		if (len >= cap)
			len = (unsigned)cap - 1;
		memset(buf, "aZ_9.-"[get(in) % 6], len);
		buf[0] = (char)(get(in) % 2 ? 'a' : buf[0]);
		buf[len] = '\0';
		return buf;
	default: {
		const char *s = seeds[get(in) % (sizeof seeds / sizeof seeds[0])];
		snprintf(buf, cap, "%s", s);
		unsigned at = get(in), c = get(in);
		size_t l = strlen(buf);
		if (mode == 7 && l > 0)
			buf[at % l] = (char)(c ? c : 'q');
		else if (mode == 6 && l + 1 < cap) {
			buf[l] = (char)(c ? c : '1');
			buf[l + 1] = '\0';
		}
		return buf;
	}
	}
}

static int ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The documented name rules (usdt.h), written independently of names.c.
 * kind: 0 provider, 1 probe, 2 function, 3 module. */
/* The model of usdt.h's name rules: every kind takes [A-Za-z0-9_.-], "."
 * and ".." are refused, provider and probe names are not empty, a
 * provider starts with a letter or '_' and is not a reserved name. */
static int name_ok(int kind, const char *s)
{
	static const size_t max[] = { USDT_PROVIDER_NAME_MAX, USDT_PROBE_NAME_MAX, USDT_FUNCTION_NAME_MAX,
	                              USDT_MODULE_NAME_MAX };
	size_t len = strlen(s);
	if (len > max[kind] || (len == 0 && kind < 2))
		return 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (!(ident(c) || c == '.' || c == '-'))
			return 0;
	}
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	if (kind == 0 && !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	if (kind == 0)
		for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
			if (strcmp(s, reserved[i]) == 0)
				return 0;
	return 1;
}

/* Two probe names tracers on Linux cannot tell apart: '-' is published as
 * "__" (the model compares the Linux forms). */
static int linux_same(const char *a, const char *b)
{
	char x[2 * USDT_PROBE_NAME_MAX + 1], y[2 * USDT_PROBE_NAME_MAX + 1];
	size_t i = 0, j = 0;
	for (; *a && i + 2 < sizeof x; a++)
		if (*a == '-') {
			x[i++] = '_';
			x[i++] = '_';
		} else {
			x[i++] = *a;
		}
	for (; *b && j + 2 < sizeof y; b++)
		if (*b == '-') {
			y[j++] = '_';
			y[j++] = '_';
		} else {
			y[j++] = *b;
		}
	x[i] = y[j] = '\0';
	return strcmp(x, y) == 0;
}

static void squeeze(const char *s, char *out, size_t cap)
{
	size_t j = 0;
	for (; *s && j + 1 < cap; s++)
		if (*s != ' ' && *s != '\t')
			out[j++] = *s;
	out[j] = '\0';
}

/* -1: must be refused, 1: must be accepted, 0: either. */
static int type_verdict(const char *t)
{
	char a[128], b[64];
	for (size_t i = 0; i < NGOOD; i++)
		if (strcmp(t, good_types[i]) == 0)
			return 1;
	squeeze(t, a, sizeof a);
	for (size_t i = 0; i < NGOOD; i++) {
		squeeze(good_types[i], b, sizeof b);
		if (strcmp(a, b) == 0)
			return 0;
	}
	return -1;
}

static void check_failed(usdt_provider_t *p, const char *what)
{
	const char *m = p ? usdt_errstr(p) : usdt_last_errstr();
	if (usdt_last_error() == USDT_ERROR_NONE || m == NULL || m[0] == '\0' || strcmp(m, "no error") == 0)
		FAIL("%s failed without a message", what);
}

struct def {
	usdt_probedef_t *pd;
	int owner;            /* provider index, or -1 */
	int refs;             /* model reference count */
	int ours;             /* the input still holds the creator's reference */
};

static size_t tuple_len(usdt_provider_t *p, usdt_probedef_t *pd)
{
	return strlen(p->name) + strlen(p->module[0] ? p->module : "libusdt") +
	       strlen(pd->function[0] ? pd->function : pd->name) + strlen(pd->name) + 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	usdt_provider_t *prov[NPROV] = { 0 };
	struct def defs[NDEF];
	char b1[160], b2[160], tbuf[USDT_ARG_MAX][48];
	const char *types[USDT_ARG_MAX + 8];
	int enables = 0;
	memset(defs, 0, sizeof defs);

	while (in.n > 0) {
		unsigned op = get(&in) % 10, i = get(&in), j = get(&in);
		usdt_provider_t **pp = &prov[i % NPROV];
		struct def *d = &defs[j % NDEF];
		switch (op) {
		case 0: {       /* create provider */
			if (*pp != NULL)
				break;
			char *name = get_name(&in, b1, sizeof b1), *mod = get_name(&in, b2, sizeof b2);
			int want = name != NULL && name_ok(0, name) && (mod == NULL || name_ok(3, mod));
			usdt_provider_t *p = usdt_create_provider(name, mod);
			if ((p != NULL) != want)
				FAIL("create_provider(\"%s\", \"%s\") = %p, expected %s", name ? name : "(null)",
				     mod ? mod : "(null)", (void *)p, want ? "success" : "failure");
			if (p == NULL) {
				check_failed(NULL, "create_provider");
				break;
			}
			if (strcmp(p->name, name) != 0 || strcmp(p->module, mod ? mod : "") != 0 || p->enabled ||
			    p->probedefs != NULL || strcmp(usdt_errstr(p), "no error") != 0)
				FAIL("new provider fields");
			*pp = p;
			break;
		}
		case 1: {       /* create probe */
			if (d->pd != NULL)
				break;
			char *func = get_name(&in, b1, sizeof b1), *name = get_name(&in, b2, sizeof b2);
			unsigned mode = get(&in);
			size_t argc = mode & 0x80 ? get(&in) % 41 : get(&in) % 4;
			int want = name != NULL && name_ok(1, name) && (func == NULL || name_ok(2, func)) &&
			           argc <= USDT_ARG_MAX;
			int maybe = 0;
			int use_null = (mode & 0x7f) == 0x7f && argc > 0;
			for (size_t a = 0; a < argc && a < USDT_ARG_MAX + 8; a++) {
				unsigned t = get(&in);
				if (t < 200) {
					snprintf(tbuf[a % USDT_ARG_MAX], sizeof tbuf[0], "%s", good_types[t % NGOOD]);
				} else if (t < 240) {      /* mangled: extra spaces, a changed byte */
					const char *g = good_types[get(&in) % NGOOD];
					unsigned c = get(&in);
					if (t & 1)
						snprintf(tbuf[a % USDT_ARG_MAX], sizeof tbuf[0], "  %s ", g);
					else
						snprintf(tbuf[a % USDT_ARG_MAX], sizeof tbuf[0], "%s", g);
					if (t & 2)
						tbuf[a % USDT_ARG_MAX][c % strlen(tbuf[a % USDT_ARG_MAX])] = (char)(c | 1);
				} else {                   /* raw bytes */
					size_t l = get(&in) % 47, k;
					for (k = 0; k < l; k++)
						if ((tbuf[a % USDT_ARG_MAX][k] = (char)get(&in)) == '\0')
							break;
					tbuf[a % USDT_ARG_MAX][k] = '\0';
				}
				types[a] = tbuf[a % USDT_ARG_MAX];
				int v = type_verdict(types[a]);
				if (v < 0 && argc <= USDT_ARG_MAX)
					want = 0;
				if (v == 0)
					maybe = 1;
			}
			if (use_null && argc <= USDT_ARG_MAX)
				want = 0;
			usdt_probedef_t *pd = usdt_create_probe(func, name, argc, use_null ? NULL : types);
			if (pd == NULL && (!want || maybe)) {
				check_failed(NULL, "create_probe");
				break;
			}
			if (pd == NULL || !want) {
				for (size_t a = 0; a < argc && !use_null; a++)
					fprintf(stderr, "type %zu: \"%s\"\n", a, types[a]);
				FAIL("create_probe(\"%s\", \"%s\", %zu) = %p, expected %s", func ? func : "(null)",
				     name ? name : "(null)", argc, (void *)pd, want ? "success" : "failure");
			}
			if (strcmp(pd->name, name) != 0 || strcmp(pd->function, func ? func : "") != 0 ||
			    pd->argc != argc || pd->refcnt != 1 || pd->probe != NULL)
				FAIL("new probe fields");
			for (size_t a = 0; a < argc; a++)     /* the canonical spelling */
				if (pd->types[a] == NULL || type_verdict(pd->types[a]) != 1)
					FAIL("type %zu \"%s\" kept as \"%s\"", a, types[a], pd->types[a]);
			d->pd = pd;
			d->owner = -1;
			d->refs = 1;
			d->ours = 1;
			break;
		}
		case 2: case 3: {       /* add (op 3: add the same one twice) */
			if (*pp == NULL || d->pd == NULL)
				break;
			for (int rep = 0; rep < (op == 3 ? 2 : 1); rep++) {
				int want = d->owner == -1 && tuple_len(*pp, d->pd) <= 255;
				for (usdt_probedef_t *q = (*pp)->probedefs; q != NULL && want; q = q->next)
					if (linux_same(q->name, d->pd->name) && strcmp(q->function, d->pd->function) == 0)
						want = 0;
				int rc = usdt_provider_add_probe(*pp, d->pd);
				if ((rc == 0) != want)
					FAIL("add_probe = %d, expected %d (%s)", rc, want, usdt_errstr(*pp));
				if (rc != 0) {
					check_failed(*pp, "add_probe");
					continue;
				}
				d->owner = (int)(pp - prov);
				d->refs++;
				usdt_probedef_t *last = (*pp)->probedefs;
				while (last->next != NULL)
					last = last->next;
				if (last != d->pd || d->pd->refcnt != d->refs)
					FAIL("added probe not last / refcnt %d != %d", d->pd->refcnt, d->refs);
				if ((*pp)->enabled && d->pd->probe == NULL)
					FAIL("probe added while enabled is not live");
			}
			break;
		}
		case 4: {       /* remove */
			if (*pp == NULL || d->pd == NULL)
				break;
			int want = d->owner == (int)(pp - prov);
			int last_ref = d->refs == 1;
			int rc = usdt_provider_remove_probe(*pp, d->pd);
			if ((rc == 0) != want)
				FAIL("remove_probe = %d, expected %d", rc, want);
			if (rc != 0) {
				check_failed(*pp, "remove_probe");
				break;
			}
			for (usdt_probedef_t *q = (*pp)->probedefs; q != NULL; q = q->next)
				if (q == d->pd)
					FAIL("removed probe still listed");
			d->owner = -1;
			d->refs--;
			if (last_ref)
				memset(d, 0, sizeof *d);
			else if (d->pd->probe != NULL || d->pd->refcnt != d->refs)
				FAIL("removed probe still live / refcnt");
			break;
		}
		case 5:         /* release the creator's reference */
			if (d->pd == NULL || !d->ours)
				break;
			d->ours = 0;
			usdt_probe_release(d->pd);
			if (--d->refs == 0)
				memset(d, 0, sizeof *d);
			break;
		case 6: {       /* enable (a few per input: each loads an object) */
			if (*pp == NULL || enables >= MAXENABLE)
				break;
			enables++;
			/* providers of one name may be enabled together (shared object) */
			int was = (*pp)->enabled;
			int want = was || (*pp)->probedefs != NULL;
			int rc = usdt_provider_enable(*pp);
			if ((rc == 0) != want)
				FAIL("enable = %d, expected %d: %s", rc, want, usdt_errstr(*pp));
			if (rc != 0) {
				check_failed(*pp, "enable");
				break;
			}
			if (was && usdt_last_error() != USDT_ERROR_ALREADYENABLED)
				FAIL("second enable not reported");
			for (usdt_probedef_t *q = (*pp)->probedefs; q != NULL; q = q->next) {
				void *argv[2] = { (void *)1, (void *)"s" };
				if (q->probe == NULL || usdt_is_enabled(q->probe))
					FAIL("enabled probe not live, or live without a tracer");
				usdt_fire_probe(q->probe, 2, argv);
			}
			break;
		}
		case 7:         /* disable */
			if (*pp == NULL)
				break;
			if (usdt_provider_disable(*pp) != 0 || (*pp)->enabled)
				FAIL("disable: %s", usdt_errstr(*pp));
			for (usdt_probedef_t *q = (*pp)->probedefs; q != NULL; q = q->next)
				if (q->probe != NULL)
					FAIL("probe live after disable");
			break;
		case 8:         /* free provider */
			if (*pp == NULL)
				break;
			usdt_provider_free(*pp);
			for (int k = 0; k < NDEF; k++)
				if (defs[k].pd != NULL && defs[k].owner == (int)(pp - prov)) {
					defs[k].owner = -1;
					if (--defs[k].refs == 0)
						memset(&defs[k], 0, sizeof defs[k]);
					else if (defs[k].pd->probe != NULL)
						FAIL("probe of a freed provider still live");
				}
			*pp = NULL;
			break;
		case 9: {       /* the list matches the model */
			if (*pp == NULL)
				break;
			size_t n = 0;
			for (usdt_probedef_t *q = (*pp)->probedefs; q != NULL; q = q->next)
				n++;
			size_t m = 0;
			for (int k = 0; k < NDEF; k++)
				m += defs[k].pd != NULL && defs[k].owner == (int)(pp - prov);
			if (n != m)
				FAIL("provider lists %zu probes, model %zu", n, m);
			break;
		}
		}
	}
	for (int k = 0; k < NPROV; k++)
		usdt_provider_free(prov[k]);
	for (int k = 0; k < NDEF; k++)
		if (defs[k].pd != NULL && defs[k].ours)
			usdt_probe_release(defs[k].pd);
	if (enables > 0 && count_fds_linking("libusdt") != 0)
		FAIL("a libusdt fd is left after every provider was freed");
	return 0;
}
