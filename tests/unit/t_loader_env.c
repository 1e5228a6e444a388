/*
 * t_loader_env.c — LIBUSDT_LOADER values that are not plain strategy lists
 * (issue 9, item 16): a value longer than the loader's limit is refused
 * with an error naming the limit (it used to be cut silently at 63 bytes,
 * so a long list lost its tail); control and non-ASCII bytes of the value
 * are never copied raw into the error message (they come back as \xNN), so
 * printing usdt_errstr() cannot drive a terminal or forge log lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "usdt.h"

#define LONG_REPEATS 12      /* "memfd," x 12 = 72 bytes, over the limit */

/* Enable a fresh one-probe provider with LIBUSDT_LOADER = value; returns
 * 0 or -1 and copies the error message into msg. */
static int try_enable(const char *value, char *msg, size_t msgsize)
{
	setenv("LIBUSDT_LOADER", value, 1);
	usdt_provider_t *p = usdt_create_provider("envt", "m");
	usdt_probedef_t *pd = usdt_create_probe("f", "p", 0, NULL);
	int rc = -1;
	msg[0] = '\0';
	if (p != NULL && pd != NULL && usdt_provider_add_probe(p, pd) == 0) {
		rc = usdt_provider_enable(p);
		if (rc != 0)
			snprintf(msg, msgsize, "%s", usdt_errstr(p));
	}
	usdt_provider_free(p);
	usdt_probe_release(pd);
	unsetenv("LIBUSDT_LOADER");
	return rc;
}

static int has_raw_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 1;
	return 0;
}

int main(void)
{
	char msg[1024], value[256] = "";

	/* a valid list that fits: works */
	CHECK(try_enable("memfd,file", msg, sizeof msg) == 0, "LIBUSDT_LOADER=memfd,file enables (%s)", msg);

	/* a valid-looking list over the limit, whose tail is a bad name:
	 * truncation would hide the bad name and succeed */
	for (int i = 0; i < LONG_REPEATS; i++)
		strcat(value, "memfd,");
	strcat(value, "bogus");
	int rc = try_enable(value, msg, sizeof msg);
	printf("# %zu-byte value: rc %d: %s\n", strlen(value), rc, msg);
	CHECK(rc != 0, "a %zu-byte LIBUSDT_LOADER is refused, not truncated", strlen(value));
	CHECK(strstr(msg, "LIBUSDT_LOADER") != NULL && strstr(msg, "too long") != NULL,
	      "the error says LIBUSDT_LOADER is too long: \"%s\"", msg);

	/* control and non-ASCII bytes are escaped in the message */
	const char *evil = "\x1b]0;pwned\x07\nFAKE LOG LINE\r\xff\xfe";
	rc = try_enable(evil, msg, sizeof msg);
	CHECK(rc != 0, "a LIBUSDT_LOADER naming no known strategy is refused");
	printf("# message, escaped for this output: ");
	for (const char *s = msg; *s; s++)
		printf((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? "<%02x>" : "%c", (unsigned char)*s);
	printf("\n");
	CHECK(!has_raw_control(msg), "no control or non-ASCII byte is echoed into the message");
	CHECK(strstr(msg, "\\x1b") != NULL && strstr(msg, "\\xff") != NULL && strstr(msg, "\\x0a") != NULL,
	      "the bytes appear as \\xNN escapes");
	CHECK(strstr(msg, "pwned") != NULL, "printable bytes are kept as they were");
	return check_done();
}
