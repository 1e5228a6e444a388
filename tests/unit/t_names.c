/*
 * t_names.c — the name rules of issue 10 part 1 through the public API,
 * without a tracer (t_names.sh traces them): every name form libusdt 0.x's
 * bindings and DTrace use is accepted (probe names with '-', probe and
 * function names starting with a digit, provider names ending in a digit,
 * '.' and '-'); what no tracer can name is refused with
 * USDT_ERROR_BADNAME and the offending byte; two probe names with the same
 * Linux form ("a-b" and "a__b") in one provider and function are a
 * duplicate with a message naming both; the remove-probe failure names
 * provider:module:function:probe (Devel::DTrace::Provider's t/provider.t
 * matches "provider0:test1module:func:test").
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "usdt.h"

static void good_provider(const char *name)
{
	usdt_provider_t *p = usdt_create_provider(name, "mod");
	CHECK(p != NULL && strcmp(p->name, name) == 0, "provider \"%s\" accepted%s%s", name, p ? "" : ": ",
	      p ? "" : usdt_last_errstr());
	usdt_provider_free(p);
}

static void good_probe(const char *func, const char *name)
{
	const char *t[] = { "int" };
	usdt_probedef_t *pd = usdt_create_probe(func, name, 1, t);
	CHECK(pd != NULL && strcmp(pd->name, name) == 0, "probe %s:%s accepted%s%s", func, name, pd ? "" : ": ",
	      pd ? "" : usdt_last_errstr());
	if (pd)
		usdt_probe_release(pd);
}

static void bad_provider(const char *name, const char *want)
{
	usdt_provider_t *p = usdt_create_provider(name, NULL);
	CHECK(p == NULL && usdt_last_error() == USDT_ERROR_BADNAME && strstr(usdt_last_errstr(), want),
	      "provider %s refused (\"%s\"): %s", want, name, usdt_last_errstr());
	usdt_provider_free(p);
}

static void bad_probe(const char *func, const char *name, const char *want)
{
	usdt_probedef_t *pd = usdt_create_probe(func, name, 0, NULL);
	CHECK(pd == NULL && usdt_last_error() == USDT_ERROR_BADNAME && strstr(usdt_last_errstr(), want),
	      "probe %s refused: %s", want, usdt_last_errstr());
	if (pd)
		usdt_probe_release(pd);
}

/* Add `second` after `first` (same function) to a fresh provider: expect a
 * duplicate error whose message names the second probe and the Linux form. */
static void linux_duplicate(const char *first, const char *second, const char *linux_name)
{
	usdt_provider_t *p = usdt_create_provider("dups", "m");
	usdt_probedef_t *a = usdt_create_probe("f", first, 0, NULL);
	usdt_probedef_t *b = usdt_create_probe("f", second, 0, NULL);
	CHECK(p && a && b && usdt_provider_add_probe(p, a) == 0, "%s added: %s", first, usdt_last_errstr());
	if (p == NULL || a == NULL || b == NULL || a->_owner != p) {
		usdt_provider_free(p);
		return;
	}
	int rc = usdt_provider_add_probe(p, b);
	const char *msg = usdt_errstr(p);
	CHECK(rc == -1 && p->_errcode == USDT_ERROR_DUP_PROBE && strstr(msg, second) && strstr(msg, first) &&
	      strstr(msg, linux_name), "%s after %s is a duplicate (both %s): %s", second, first, linux_name, msg);
	CHECK(p->probedefs == a && a->next == NULL && b->refcnt == 1, "the refused probe is not in the provider");
	usdt_probedef_t *c = usdt_create_probe("g", second, 0, NULL);
	CHECK(c && usdt_provider_add_probe(p, c) == 0, "%s in another function is another probe", second);
	CHECK(usdt_provider_enable(p) == 0, "enable: %s", usdt_errstr(p));
	usdt_probe_release(a);
	usdt_probe_release(b);
	usdt_probe_release(c);
	usdt_provider_free(p);
}

int main(void)
{
	char buf[256];

	/* names libusdt 0.x's bindings use */
	good_provider("provider0");          /* Devel::DTrace::Provider t/ */
	good_provider("provider1");
	good_provider("testlibusdt");        /* dtrace-provider test/ */
	good_provider("nodeapp");
	good_provider("my-app.v2");
	good_provider("_9");
	good_probe("func", "test");
	good_probe("32probe", "32probe");    /* dtrace-provider: function = name */
	good_probe("request-start", "request-start");
	good_probe("probe1-start", "probe1-start");
	good_probe("f", "log-info");
	good_probe("f", "9");
	good_probe("f", "a.b-c--d");
	good_probe("f", "-");
	good_probe("", "x");
	memset(buf, 'p', USDT_PROBE_NAME_MAX);
	buf[USDT_PROBE_NAME_MAX] = '\0';
	buf[10] = '-';
	good_probe("f", buf);                /* 63 bytes, 64 in Linux form */

	/* what no tracer can name */
	bad_provider("a b", "byte 0x20 at offset 1");
	bad_provider("a:b", "':' at offset 1");
	bad_provider("a\"b", "'\"' at offset 1");
	bad_provider("a'b", "''' at offset 1");
	bad_provider("a`b", "'`' at offset 1");
	bad_provider("a/b", "'/' at offset 1");
	bad_provider("a\\b", "'\\' at offset 1");
	bad_provider("a\tb", "byte 0x09 at offset 1");
	bad_provider("caf\xc3\xa9", "byte 0xc3 at offset 3");
	bad_provider("1abc", "must start with a letter or '_'");
	bad_provider("-x", "must start with a letter or '_'");
	bad_provider(".x", "must start with a letter or '_'");
	bad_provider("pid", "reserved");
	bad_provider("..", "reserved");
	bad_provider("", "empty");
	memset(buf, 'a', USDT_PROVIDER_NAME_MAX + 1);
	buf[USDT_PROVIDER_NAME_MAX + 1] = '\0';
	bad_provider(buf, "longer than 53");
	bad_probe("f", "a b", "byte 0x20 at offset 1");
	bad_probe("f", "a:b", "':' at offset 1");
	bad_probe("f", "a$b", "'$' at offset 1");
	bad_probe("f", "a*b", "'*' at offset 1");
	bad_probe("f", "a\nb", "byte 0x0a at offset 1");
	bad_probe("f", "\x7f", "byte 0x7f at offset 0");
	bad_probe("f", ".", "reserved");
	bad_probe("f:g", "x", "':' at offset 1");
	bad_probe("f g", "x", "byte 0x20 at offset 1");
	memset(buf, 'p', USDT_PROBE_NAME_MAX + 1);
	buf[USDT_PROBE_NAME_MAX + 1] = '\0';
	bad_probe("f", buf, "longer than 63");

	/* the same Linux name twice in one provider and function */
	linux_duplicate("a-b", "a__b", "a__b");
	linux_duplicate("a__b", "a-b", "a__b");
	linux_duplicate("x--y", "x_-_y", "x____y");
	linux_duplicate("request-start", "request__start", "request__start");

	/* Devel::DTrace::Provider t/provider.t, in C */
	const char *t2[] = { "char *", "int" };
	usdt_provider_t *p = usdt_create_provider("provider0", "test1module");
	usdt_probedef_t *test = usdt_create_probe("func", "test", 2, t2);
	CHECK(p && test && usdt_provider_add_probe(p, test) == 0 && usdt_provider_enable(p) == 0,
	      "provider0:test1module:func:test enabled: %s", p ? usdt_errstr(p) : usdt_last_errstr());
	if (p == NULL || test == NULL)
		return check_done();
	usdt_provider_disable(p);
	CHECK(usdt_provider_remove_probe(p, test) == 0, "remove_probe: %s", usdt_errstr(p));
	CHECK(usdt_provider_remove_probe(p, test) == -1 && p->_errcode == USDT_ERROR_REMOVE_PROBE &&
	      strstr(usdt_errstr(p), "provider0:test1module:func:test") != NULL,
	      "removing it again fails naming provider:module:function:probe: %s", usdt_errstr(p));
	usdt_probe_release(test);
	usdt_provider_free(p);
	return check_done();
}
