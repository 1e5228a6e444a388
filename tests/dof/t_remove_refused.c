/*
 * t_remove_refused.c — a DTrace helper device that refuses the REMOVE
 * ioctl (issue 9 item 17; seen live with Oracle's dtrace-utils: EFAULT).
 *
 * The helper device is the accepted test double (usdt_dof_set_device_ops):
 * it accepts ADDDOF (generation GEN) and refuses REMOVE with EFAULT. The
 * refusal must be reported — never silently dropped — on each path that
 * removes a document, while everything else is still unloaded:
 *   - usdt_provider_disable(): returns -1 with USDT_ERROR_UNLOADDOF (as
 *     libusdt 0.x did when unloading failed), usdt_errstr(provider) names
 *     the device, the generation and the errno text; the provider is
 *     nevertheless disabled, its ELF object and DOF document are unmapped
 *     and their descriptors closed, and it can be enabled again;
 *   - usdt_provider_add_probe() on an enabled provider (the old object is
 *     retired): returns 0 (the new object is live), the message is on the
 *     provider;
 *   - usdt_provider_free(): no return value, the message is the thread's
 *     last error (usdt_last_errstr).
 * Counts of descriptors and mappings naming libusdt come back to their
 * values before the first enable.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dof/dof.h"
#include "proc_count.h"
#include "usdt.h"

#define FAKE_FD 4343
#define GEN 11
#define REFUSAL EFAULT
#define HELPER "/dev/dtrace/helper"

static struct {
	int adds, removes, refuse_remove;
	long removed_gen;
} dev;

static int d_open(void *ctx, const char *path, int flags)
{
	(void)ctx; (void)flags;
	if (strcmp(path, HELPER) != 0) {
		errno = ENOENT;
		return -1;
	}
	return FAKE_FD;
}

static int d_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	if (fd != FAKE_FD) {
		errno = EBADF;
		return -1;
	}
	if (request == USDT_DOF_LINUX_ADDDOF) {
		dev.adds++;
		return GEN;
	}
	if (request == USDT_DOF_LINUX_REMOVE) {
		dev.removes++;
		dev.removed_gen = (long)(intptr_t)arg;
		if (dev.refuse_remove) {
			errno = REFUSAL;
			return -1;
		}
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static int d_close(void *ctx, int fd)
{
	(void)ctx;
	return fd == FAKE_FD ? 0 : -1;
}

/* The message names the device, the generation and the errno text. */
static int names_all(const char *msg)
{
	char gen[32];
	snprintf(gen, sizeof gen, "generation %d", GEN);
	return msg != NULL && strstr(msg, HELPER) != NULL && strstr(msg, gen) != NULL &&
	       strstr(msg, strerror(REFUSAL)) != NULL;
}

static void held(int *fds, int *maps)
{
	*fds = count_fds_linking("libusdt");
	*maps = count_maps_lines("libusdt");
}

int main(void)
{
	struct usdt_dof_device_ops ops = { d_open, d_ioctl, d_close, NULL };
	const char *t1[] = { "int" };
	int fds0, maps0, fds, maps;

	usdt_dof_set_device_ops(&ops);
	usdt_provider_t *prov = usdt_create_provider("rmref", "mod");
	usdt_probedef_t *a = usdt_create_probe("f", "a", 1, t1);
	usdt_probedef_t *b = usdt_create_probe("f", "b", 1, t1);
	if (prov == NULL || a == NULL || b == NULL || usdt_provider_add_probe(prov, a) != 0) {
		printf("setup failed: %s\n", usdt_last_errstr());
		return 1;
	}
	held(&fds0, &maps0);

	/* 1. disable */
	CHECK(usdt_provider_enable(prov) == 0 && dev.adds == 1, "enabled with the helper device (%s)",
	      usdt_errstr(prov));
	CHECK(count_maps_lines("libusdt-dof:rmref") > 0 && count_maps_lines("libusdt:rmref") > 0,
	      "object and document mapped");
	dev.refuse_remove = 1;
	int rc = usdt_provider_disable(prov);
	CHECK(dev.removes == 1 && dev.removed_gen == GEN, "disable sent REMOVE for generation %ld", dev.removed_gen);
	CHECK(rc == -1, "disable returns -1 when the helper refuses REMOVE (rc %d)", rc);
	CHECK(usdt_last_error() == USDT_ERROR_UNLOADDOF, "last error is USDT_ERROR_UNLOADDOF (%d)", (int)usdt_last_error());
	CHECK(names_all(usdt_errstr(prov)), "usdt_errstr names device, generation and errno: %s", usdt_errstr(prov));
	CHECK(strcmp(usdt_errstr(prov), usdt_last_errstr()) == 0, "usdt_last_errstr says the same");
	CHECK(!prov->enabled && a->probe == NULL, "the provider is disabled anyway");
	held(&fds, &maps);
	CHECK(fds == fds0 && maps == maps0, "everything else unloaded: fds %d (before %d), maps %d (before %d)",
	      fds, fds0, maps, maps0);
	CHECK(usdt_provider_disable(prov) == 0, "disabling again returns 0");

	/* 2. the old object retired by add_probe on an enabled provider */
	dev.refuse_remove = 0;
	CHECK(usdt_provider_enable(prov) == 0, "enabled again (%s)", usdt_errstr(prov));
	dev.refuse_remove = 1;
	rc = usdt_provider_add_probe(prov, b);
	CHECK(rc == 0 && b->probe != NULL, "add_probe while enabled: 0, the new object is live (rc %d)", rc);
	CHECK(names_all(usdt_errstr(prov)), "  the refused REMOVE of the old object is on the provider: %s",
	      usdt_errstr(prov));
	CHECK(count_maps_lines("libusdt-dof:rmref") == 1 || UNDER_SANITIZER,
	      "  only the new document is mapped (%d)", count_maps_lines("libusdt-dof:rmref"));

	/* 3. free */
	dev.refuse_remove = 1;
	usdt_provider_free(prov);
	CHECK(names_all(usdt_last_errstr()), "free: the refusal is the thread's last error: %s", usdt_last_errstr());
	held(&fds, &maps);
	CHECK(fds == fds0 && maps == maps0, "everything unloaded after free: fds %d (before %d), maps %d (before %d)",
	      fds, fds0, maps, maps0);
	usdt_dof_set_device_ops(NULL);
	usdt_probe_release(a);
	usdt_probe_release(b);
	return check_done();
}
