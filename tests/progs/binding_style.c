/*
 * binding_style.c — libusdt 0.x bindings' way of calling the API, with their
 * own names, as a traced process for tracers/t_binding_style.sh.
 *
 * Each block below does what one binding of the original library does
 * (read from their sources, written here in C):
 *   Devel::DTrace::Provider: provider "provider0", module "test1module",
 *     add_probe(function "func", probe "test", string+integer), enable,
 *     disable, add "test2", enable again, remove a probe, and the failed
 *     second removal whose croak message t/provider.t matches with
 *     /provider0:test1module:func:test/;
 *   node-dtrace-provider: createDTraceProvider("testlibusdt") with the probe
 *     name as function too, "32probe" with 32 "int" arguments, and
 *     bunyan-style "log-info" (char *);
 *   lua-usdt: provider "lua"/"lmod", probes "iprobe" (10 int) and "cprobe"
 *     (10 char *), checking probedef->types[i] against USDT_ARGTYPE_*;
 *   ruby-usdt: provider "ruby1" with probe "request-start" in function
 *     "action", guarded by usdt_is_enabled() before each fire.
 * It prints "CHECK ok|not ok ..." lines, then one "EXPECT provider:probe
 * v..." line per probe under the name a Linux tracer must use (written
 * out, '-' as "__"), then READY, and fires every probe every 20 ms until
 * SIGTERM.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "usdt.h"

#define NODE_ARGS 32
#define LUA_ARGS 10
#define FIRE_INTERVAL_NS 20000000L

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int failures;
static void check(int ok, const char *what, const char *detail)
{
	printf("CHECK %s - %s%s%s\n", ok ? "ok" : "not ok", what, detail ? ": " : "", detail ? detail : "");
	failures += !ok;
}

static usdt_provider_t *provider(const char *name, const char *module)
{
	usdt_provider_t *p = usdt_create_provider(name, module);
	check(p != NULL, name, p ? NULL : usdt_last_errstr());
	return p;
}

static usdt_probedef_t *probe(usdt_provider_t *p, const char *func, const char *name, size_t argc,
                              const char **types)
{
	usdt_probedef_t *pd = usdt_create_probe(func, name, argc, types);
	check(pd != NULL, name, pd ? NULL : usdt_last_errstr());
	if (pd != NULL && p != NULL)
		check(usdt_provider_add_probe(p, pd) == 0, name, usdt_errstr(p));
	return pd;
}

int main(void)
{
	signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Devel::DTrace::Provider */
	const char *perl_types[] = { "char *", "int" };
	usdt_provider_t *perl = provider("provider0", "test1module");
	usdt_probedef_t *test = probe(perl, "func", "test", 2, perl_types);
	check(perl && usdt_provider_enable(perl) == 0, "perl: enable", perl ? usdt_errstr(perl) : NULL);
	check(perl && usdt_provider_disable(perl) == 0, "perl: disable", perl ? usdt_errstr(perl) : NULL);
	usdt_probedef_t *test2 = probe(perl, "func", "test2", 2, perl_types);
	usdt_probedef_t *gone = probe(perl, "func", "gone", 0, NULL);
	check(perl && usdt_provider_enable(perl) == 0, "perl: enable again", perl ? usdt_errstr(perl) : NULL);
	check(perl && usdt_provider_remove_probe(perl, gone) == 0, "perl: remove_probe", perl ? usdt_errstr(perl) : NULL);
	check(perl && usdt_provider_remove_probe(perl, gone) == -1 &&
	      strstr(usdt_errstr(perl), "provider0:test1module:func:gone") != NULL,
	      "perl: second remove_probe names provider0:test1module:func:gone", perl ? usdt_errstr(perl) : NULL);

	/* node-dtrace-provider: module = provider name, function = probe name */
	const char *ints[NODE_ARGS], *str1[] = { "char *" };
	for (int i = 0; i < NODE_ARGS; i++)
		ints[i] = "int";
	usdt_provider_t *node = provider("testlibusdt", "testlibusdt");
	usdt_probedef_t *p32 = probe(node, "32probe", "32probe", NODE_ARGS, ints);
	usdt_probedef_t *loginfo = probe(node, "log-info", "log-info", 1, str1);
	check(node && usdt_provider_enable(node) == 0, "node: enable", node ? usdt_errstr(node) : NULL);

	/* lua-usdt */
	const char *strs[LUA_ARGS];
	for (int i = 0; i < LUA_ARGS; i++)
		strs[i] = "char *";
	usdt_provider_t *lua = provider("lua", "lmod");
	usdt_probedef_t *iprobe = probe(lua, "foo", "iprobe", LUA_ARGS, ints);
	usdt_probedef_t *cprobe = probe(lua, "foo", "cprobe", LUA_ARGS, strs);
	check(iprobe && cprobe && iprobe->types[0] == USDT_ARGTYPE_INTEGER && cprobe->types[9] == USDT_ARGTYPE_STRING,
	      "lua: probedef->types[i] == USDT_ARGTYPE_INTEGER / _STRING", NULL);
	check(lua && usdt_provider_enable(lua) == 0, "lua: enable", lua ? usdt_errstr(lua) : NULL);

	/* ruby-usdt */
	const char *rtypes[] = { "int", "char *" };
	usdt_provider_t *ruby = provider("ruby1", "mod");
	usdt_probedef_t *rstart = probe(ruby, "action", "request-start", 2, rtypes);
	check(ruby && usdt_provider_enable(ruby) == 0, "ruby: enable", ruby ? usdt_errstr(ruby) : NULL);

	if (failures) {
		printf("FAILED %d\n", failures);
		return 1;
	}
	void *perl_a[] = { (void *)"foo", (void *)(intptr_t)42 };
	void *perl_b[] = { (void *)"bar", (void *)(intptr_t)-13 };
	void *node_a[NODE_ARGS], *node_s[] = { (void *)"{\"msg\":\"hello\",\"level\":30}" };
	for (int i = 0; i < NODE_ARGS; i++)
		node_a[i] = (void *)(intptr_t)(i + 1);
	void *lua_i[LUA_ARGS], *lua_c[LUA_ARGS];
	static const char *const letters[LUA_ARGS] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
	for (int i = 0; i < LUA_ARGS; i++) {
		lua_i[i] = (void *)(intptr_t)(i + 1);
		lua_c[i] = (void *)letters[i];
	}
	void *ruby_a[] = { (void *)(intptr_t)200, (void *)"/index.html" };

	/* What a Linux tracer must read, under the Linux names. */
	printf("EXPECT provider0:test \"foo\" 2a\n");
	printf("EXPECT provider0:test2 \"bar\" fffffffffffffff3\n");
	printf("EXPECT testlibusdt:32probe 1 2 3 4 5 6\n");
	printf("EXPECT testlibusdt:log__info \"%s\"\n", (const char *)node_s[0]);
	printf("EXPECT lua:iprobe 1 2 3 4 5 6\n");
	printf("EXPECT lua:cprobe \"a\" \"b\" \"c\" \"d\" \"e\" \"f\"\n");
	printf("EXPECT ruby1:request__start c8 \"/index.html\"\n");
	printf("READY\n");

	struct timespec nap = { 0, FIRE_INTERVAL_NS };
	while (!stop) {
		if (usdt_is_enabled(test->probe))
			usdt_fire_probe(test->probe, test->argc, perl_a);
		if (usdt_is_enabled(test2->probe))
			usdt_fire_probe(test2->probe, test2->argc, perl_b);
		if (usdt_is_enabled(p32->probe))
			usdt_fire_probe(p32->probe, p32->argc, node_a);
		if (usdt_is_enabled(loginfo->probe))
			usdt_fire_probe(loginfo->probe, loginfo->argc, node_s);
		if (usdt_is_enabled(iprobe->probe))
			usdt_fire_probe(iprobe->probe, iprobe->argc, lua_i);
		if (usdt_is_enabled(cprobe->probe))
			usdt_fire_probe(cprobe->probe, cprobe->argc, lua_c);
		if (usdt_is_enabled(rstart->probe))
			usdt_fire_probe(rstart->probe, rstart->argc, ruby_a);
		nanosleep(&nap, NULL);
	}
	/* the bindings' teardown: release the creator's references, free */
	usdt_probedef_t *all[] = { test, test2, gone, p32, loginfo, iprobe, cprobe, rstart };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		usdt_probe_release(all[i]);
	usdt_provider_free(perl);
	usdt_provider_free(node);
	usdt_provider_free(lua);
	usdt_provider_free(ruby);
	printf("DONE\n");
	return 0;
}
