/*
 * t_api.c — the public API without a tracer: libusdt compatibility rules,
 * every bad input with its error code and message, reference counting,
 * enable/disable cycles, duplicate providers, use after free.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "proc_count.h"
#include "usdt.h"

static void bad_provider(const char *name, const char *module, usdt_error_t want, const char *what)
{
	usdt_provider_t *p = usdt_create_provider(name, module);
	CHECK(p == NULL && usdt_last_error() == want, "create_provider refuses %s: %s", what, usdt_last_errstr());
	if (p)
		usdt_provider_free(p);
}

static void bad_probe(const char *func, const char *name, size_t argc, const char **types, usdt_error_t want,
                      const char *what)
{
	usdt_probedef_t *pd = usdt_create_probe(func, name, argc, types);
	CHECK(pd == NULL && usdt_last_error() == want, "create_probe refuses %s: %s", what, usdt_last_errstr());
	if (pd)
		usdt_probe_release(pd);
}

int main(void)
{
	char buf[256];
	const char *t2[] = { "int", "char *" };

	/* errors before any error */
	CHECK(usdt_last_error() == USDT_ERROR_NONE && strcmp(usdt_last_errstr(), "no error") == 0,
	      "no error before any call");
	usdt_provider_t *p = usdt_create_provider("apitest", "mod");
	CHECK(p != NULL, "create_provider(apitest, mod)");
	CHECK(strcmp(usdt_errstr(p), "no error") == 0, "usdt_errstr is valid before any error: \"%s\"", usdt_errstr(p));
	CHECK(p->enabled == 0 && p->probedefs == NULL && strcmp(p->name, "apitest") == 0 &&
	      strcmp(p->module, "mod") == 0, "libusdt fields name/module/probedefs/enabled");

	/* bad provider names */
	bad_provider(NULL, NULL, USDT_ERROR_NULL, "a NULL name");
	bad_provider("", NULL, USDT_ERROR_BADNAME, "an empty name");
	memset(buf, 'a', USDT_PROVIDER_NAME_MAX + 1);
	buf[USDT_PROVIDER_NAME_MAX + 1] = '\0';
	bad_provider(buf, NULL, USDT_ERROR_BADNAME, "a 54-byte name");
	buf[USDT_PROVIDER_NAME_MAX] = '\0';
	usdt_provider_t *longp = usdt_create_provider(buf, NULL);
	CHECK(longp != NULL, "a 53-byte provider name is accepted");
	usdt_provider_free(longp);
	bad_provider("a b", NULL, USDT_ERROR_BADNAME, "a space");
	bad_provider("a:b", NULL, USDT_ERROR_BADNAME, "':'");
	bad_provider("a\"b", NULL, USDT_ERROR_BADNAME, "a quote");
	bad_provider("a\nb", NULL, USDT_ERROR_BADNAME, "a newline");
	bad_provider("a\x01", NULL, USDT_ERROR_BADNAME, "a control character");
	bad_provider("caf\xc3\xa9", NULL, USDT_ERROR_BADNAME, "non-ASCII");
	bad_provider("1abc", NULL, USDT_ERROR_BADNAME, "a leading digit");
	/* a trailing digit ("provider0") is accepted: unit/t_names */
	bad_provider("pid", NULL, USDT_ERROR_BADNAME, "\"pid\"");
	bad_provider("ok", "bad module", USDT_ERROR_BADNAME, "a module with a space");

	/* bad probes */
	bad_probe("f", NULL, 0, NULL, USDT_ERROR_NULL, "a NULL name");
	bad_probe("f", "", 0, NULL, USDT_ERROR_BADNAME, "an empty name");
	memset(buf, 'p', USDT_PROBE_NAME_MAX + 1);
	buf[USDT_PROBE_NAME_MAX + 1] = '\0';
	bad_probe("f", buf, 0, NULL, USDT_ERROR_BADNAME, "a 64-byte name");
	/* '-' in a probe name ("request-start") is accepted: unit/t_names */
	bad_probe("f", "a b", 0, NULL, USDT_ERROR_BADNAME, "a space in a probe name");
	bad_probe("f:g", "x", 0, NULL, USDT_ERROR_BADNAME, "':' in a function name");
	bad_probe("f", "x", USDT_ARG_MAX + 1, t2, USDT_ERROR_ARGC, "33 arguments");
	bad_probe("f", "x", (size_t)-1, t2, USDT_ERROR_ARGC, "a negative argument count");
	bad_probe("f", "x", 2, NULL, USDT_ERROR_NULL, "NULL types with argc 2");
	const char *tnull[] = { "int", NULL };
	bad_probe("f", "x", 2, tnull, USDT_ERROR_NULL, "a NULL type string");
	const char *tf[] = { "float" };
	bad_probe("f", "x", 1, tf, USDT_ERROR_BADTYPE, "type \"float\"");
	const char *tjunk[] = { "int; DROP" };
	bad_probe("f", "x", 1, tjunk, USDT_ERROR_BADTYPE, "type \"int; DROP\"");
	const char *tstruct[] = { "struct foo *" };
	bad_probe("f", "x", 1, tstruct, USDT_ERROR_BADTYPE, "type \"struct foo *\"");
	memset(buf, 'i', 200);
	buf[200] = '\0';
	const char *tlong[] = { buf };
	bad_probe("f", "x", 1, tlong, USDT_ERROR_BADTYPE, "a 200-byte type string");

	/* accepted spellings */
	const char *tsp[] = { "char*", "  unsigned   long ", "const char *", "uint8_t", "void*" };
	usdt_probedef_t *sp = usdt_create_probe(NULL, "spell", 5, tsp);
	CHECK(sp != NULL && sp->argc == 5 && sp->types[0] == USDT_ARGTYPE_STRING && strcmp(sp->types[1], "unsigned long") == 0 && sp->types[2] == USDT_ARGTYPE_STRING && strcmp(sp->function, "") == 0,
	      "type spellings normalised (char* and const char * are USDT_ARGTYPE_STRING); NULL function = \"\"");
	usdt_probe_release(sp);

	/* adding, duplicates, refcounts */
	usdt_probedef_t *a = usdt_create_probe("f", "a", 2, t2);
	CHECK(a != NULL && a->refcnt == 1 && a->probe == NULL, "create_probe: refcnt 1, probe NULL");
	CHECK(usdt_provider_add_probe(p, a) == 0 && a->refcnt == 2 && p->probedefs == a, "add_probe takes a reference");
	CHECK(usdt_provider_add_probe(p, a) == -1 && p->_errcode == USDT_ERROR_DUP_PROBE,
	      "adding the same definition twice: %s", usdt_errstr(p));
	usdt_probedef_t *a2 = usdt_create_probe("f", "a", 0, NULL);
	CHECK(usdt_provider_add_probe(p, a2) == -1 && p->_errcode == USDT_ERROR_DUP_PROBE,
	      "duplicate (function, name): %s", usdt_errstr(p));
	usdt_probedef_t *a3 = usdt_create_probe("g", "a", 0, NULL);
	CHECK(usdt_provider_add_probe(p, a3) == 0, "same name in another function is a different probe");
	CHECK(usdt_provider_add_probe(NULL, a2) == -1 && usdt_last_error() == USDT_ERROR_NULL, "add_probe(NULL, ...)");
	CHECK(usdt_provider_add_probe(p, NULL) == -1 && usdt_last_error() == USDT_ERROR_NULL, "add_probe(p, NULL)");
	CHECK(usdt_provider_remove_probe(p, a2) == -1 && p->_errcode == USDT_ERROR_REMOVE_PROBE,
	      "removing a probe that is not there: %s", usdt_errstr(p));
	usdt_probe_release(a2);

	usdt_provider_t *empty = usdt_create_provider("emptyprov", NULL);
	CHECK(usdt_provider_enable(empty) == -1 && empty->_errcode == USDT_ERROR_NOPROBES,
	      "enable without probes: %s", usdt_errstr(empty));
	CHECK(strcmp(empty->module, "") == 0, "NULL module = \"\"");
	usdt_provider_free(empty);

	/* enable / disable cycles and the probe pointer */
	CHECK(usdt_provider_enable(p) == 0 && p->enabled == 1, "enable");
	CHECK(count_fds_linking("libusdt") == 1, "one memfd per enabled provider");
	usdt_probe_t *probe = a->probe;
	CHECK(probe != NULL && a3->probe != NULL, "probedef->probe is set while enabled");
	CHECK(usdt_is_enabled(probe) == 0 && usdt_is_enabled_inline(probe) == 0, "no tracer: is_enabled 0");
	void *argv[2] = { (void *)(intptr_t)-5, (void *)"x" };
	usdt_fire_probe(probe, 2, argv);
	usdt_fire_probe(probe, 0, NULL);
	usdt_fire_probe(probe, 5, argv);
	CHECK(1, "fire with the declared, fewer and more words: no crash");
	CHECK(usdt_provider_enable(p) == 0 && p->_errcode == USDT_ERROR_ALREADYENABLED,
	      "enable twice returns 0 and records: %s", usdt_errstr(p));
	usdt_provider_t *twin = usdt_create_provider("apitest", "other");
	usdt_probedef_t *tw = usdt_create_probe("f", "t", 0, NULL);
	usdt_provider_add_probe(twin, tw);
	CHECK(usdt_provider_enable(twin) == 0 && twin->enabled && tw->probe != NULL && a->probe == probe,
	      "a second provider of the same name enables too: %s", usdt_errstr(twin));
	CHECK(count_fds_linking("libusdt") == 1, "same-named providers share one object (%d memfd)", count_fds_linking("libusdt"));
	int cycles = 0;
	for (int i = 0; i < 50; i++) {
		if (usdt_provider_disable(p) != 0 || p->enabled || a->probe != NULL || tw->probe == NULL)
			break;
		usdt_fire_probe(probe, 2, argv);             /* stale pointer: a no-op */
		if (usdt_is_enabled(probe) != 0 || usdt_provider_enable(p) != 0 || a->probe != probe)
			break;
		cycles++;
	}
	CHECK(cycles == 50, "%d of 50 disable/enable cycles beside the twin; the usdt_probe_t pointer stays the same",
	      cycles);
	CHECK(usdt_provider_disable(p) == 0 && usdt_provider_disable(p) == 0, "disable twice is fine");
	CHECK(tw->probe != NULL && count_fds_linking("libusdt") == 1, "the twin stays enabled when the first is disabled");
	usdt_provider_free(twin);
	CHECK(count_fds_linking("libusdt") == 0 && tw->probe == NULL, "freeing the twin unloads the shared object");
	usdt_probe_release(tw);
	CHECK(usdt_provider_enable(p) == 0, "re-enable after the twin is freed");

	/* add/remove while enabled */
	usdt_probedef_t *b = usdt_create_probe("f", "b", 0, NULL);
	CHECK(usdt_provider_add_probe(p, b) == 0 && b->probe != NULL, "a probe added while enabled is live at once");
	CHECK(usdt_provider_remove_probe(p, b) == 0 && b->probe == NULL && b->refcnt == 1,
	      "remove while enabled drops the provider's reference and unpublishes");
	CHECK(a->probe != NULL && p->enabled, "the other probes stay live");
	usdt_probe_release(b);

	/* NULL handling */
	CHECK(usdt_is_enabled(NULL) == 0 && usdt_is_enabled_inline(NULL) == 0, "is_enabled(NULL) = 0");
	usdt_fire_probe(NULL, 2, argv);
	CHECK(1, "fire(NULL) does nothing");
	CHECK(usdt_provider_enable(NULL) == -1 && usdt_last_error() == USDT_ERROR_NULL, "enable(NULL)");
	CHECK(usdt_provider_disable(NULL) == -1, "disable(NULL)");
	usdt_provider_free(NULL);
	usdt_probe_release(NULL);
	CHECK(strcmp(usdt_errstr(NULL), usdt_last_errstr()) == 0, "usdt_errstr(NULL) = the thread's last error");
	CHECK(strcmp(usdt_strerror(USDT_ERROR_BADTYPE), "unknown argument type") == 0 &&
	      strcmp(usdt_strerror((usdt_error_t)999), "unknown error") == 0, "usdt_strerror");

	/* free of an enabled provider disables it; use after free is detected */
	usdt_probe_release(a);          /* the provider still holds a and a3 */
	usdt_probe_release(a3);
	usdt_provider_free(p);
	CHECK(count_fds_linking("libusdt") == 0, "free of an enabled provider disables it: no memfd left");
	CHECK(usdt_provider_enable(p) == -1 && usdt_last_error() == USDT_ERROR_INVALID,
	      "enable after free is detected: %s", usdt_last_errstr());
	CHECK(usdt_provider_add_probe(p, NULL) == -1 && usdt_last_error() == USDT_ERROR_INVALID,
	      "add_probe after free is detected");
	usdt_provider_free(p);          /* double free: ignored */
	CHECK(1, "a second free is ignored");
	CHECK(usdt_is_enabled(probe) == 0, "is_enabled on a probe whose definition was freed recently is 0");
	CHECK(strcmp(usdt_version(), "1.0.0") == 0, "version %s", usdt_version());
	return check_done();
}
