/*
 * t_compat.c — the libusdt 0.x API as its bindings use it, unchanged:
 * lua-usdt style (function-before-name create, per-argument dispatch on
 * probedef->types[i] == USDT_ARGTYPE_STRING / USDT_ARGTYPE_INTEGER, fire
 * through probedef->probe, argc read from the definition), and
 * Devel::DTrace::Provider / node-dtrace-provider style (add, enable,
 * remove_probe, disable, errstr on failure, is_enabled on probedef->probe).
 * Written against the documented API only; the bindings' code is not here.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "usdt.h"

/* what a 0.1-era binding does to turn script values into argv words */
static void pack(usdt_probedef_t *pd, void **argv, const char *s, long n)
{
	for (size_t i = 0; i < pd->argc; i++) {
		if (pd->types[i] == USDT_ARGTYPE_STRING)
			argv[i] = (void *)s;
		else if (pd->types[i] == USDT_ARGTYPE_INTEGER)
			argv[i] = (void *)(intptr_t)n;
		else
			argv[i] = NULL;
	}
}

int main(void)
{
	const char *argv_types[USDT_ARG_MAX] = { "char *", "int", "int", NULL };
	usdt_provider_t *provider = usdt_create_provider("compat", "module");
	usdt_probedef_t *pd = usdt_create_probe("func", "probe", 3, argv_types);
	CHECK(provider != NULL && pd != NULL, "create provider and probe (function, name, argc, types)");
	CHECK(pd->types[0] == USDT_ARGTYPE_STRING && pd->types[1] == USDT_ARGTYPE_INTEGER &&
	      pd->types[2] == USDT_ARGTYPE_INTEGER, "types[i] compare equal to USDT_ARGTYPE_STRING / _INTEGER");
	CHECK(strcmp(pd->types[0], "char *") == 0 && strcmp(pd->types[1], "int") == 0,
	      "and read as strings \"%s\", \"%s\"", pd->types[0], pd->types[1]);
	CHECK(usdt_provider_add_probe(provider, pd) == 0, "usdt_provider_add_probe");
	CHECK(usdt_provider_enable(provider) == 0, "usdt_provider_enable: %s", usdt_errstr(provider));
	CHECK(provider->enabled == 1 && provider->probedefs == pd && pd->next == NULL && pd->probe != NULL,
	      "fields enabled, probedefs, next, probe");
	void *argv[USDT_ARG_MAX];
	pack(pd, argv, "hello", 42);
	usdt_fire_probe(pd->probe, pd->argc, argv);
	CHECK(argv[0] != NULL && argv[1] == (void *)42, "fire through probedef->probe with argc from the definition");
	CHECK(usdt_is_enabled(pd->probe) == 0, "usdt_is_enabled(probedef->probe) without a tracer");
	CHECK(pd->refcnt == 2, "refcnt counts the creator and the provider (%d)", pd->refcnt);

	usdt_probedef_t *dup = usdt_create_probe("func", "probe", 0, NULL);
	CHECK(usdt_provider_add_probe(provider, dup) < 0 && strstr(usdt_errstr(provider), "already exists") != NULL,
	      "a duplicate gives a negative return and a message: %s", usdt_errstr(provider));
	usdt_probe_release(dup);
	CHECK(usdt_provider_remove_probe(provider, pd) == 0 && pd->probe == NULL, "remove_probe of an enabled provider");
	CHECK(usdt_provider_disable(provider) == 0, "disable");
	CHECK(usdt_provider_add_probe(provider, pd) == 0 && usdt_provider_enable(provider) == 0, "re-add and re-enable");
	usdt_provider_free(provider);
	usdt_probe_release(pd);
	CHECK(1, "free and release without crash");
	return check_done();
}
