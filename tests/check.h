/*
 * check.h — a minimal TAP-style checking harness for the C tests.
 * CHECK(cond, fmt, ...) prints "ok N - ..." or "not ok N - ..." and counts;
 * check_done() prints the plan and returns the exit status.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H
#include <stdio.h>

static int check_n, check_failed;

#define CHECK(cond, ...) do {                                              \
	int ok_ = !!(cond);                                                   \
	check_n++;                                                            \
	if (!ok_) check_failed++;                                             \
	printf("%s %d - ", ok_ ? "ok" : "not ok", check_n);                   \
	printf(__VA_ARGS__);                                                  \
	if (!ok_) printf("   [%s:%d: %s]", __FILE__, __LINE__, #cond);        \
	printf("\n");                                                         \
	fflush(stdout);                                                       \
} while (0)

static inline int check_done(void)
{
	printf("1..%d\n# %d failed\n", check_n, check_failed);
	return check_failed ? 1 : 0;
}
#endif
