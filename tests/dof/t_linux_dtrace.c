/*
 * t_linux_dtrace.c — a provider enabled on Linux where a DTrace helper
 * device exists (dtrace-utils): the same probes are published as a DOF
 * document as well as stapsdt notes.
 *
 * The helper device is a test double (usdt_dof_set_device_ops) recording
 * what would reach /dev/dtrace/helper. Checked: the ADDDOF request code and
 * helper struct, the document (validated as dtrace-utils would, with the
 * in-process checks: tracepoints are real stub bytes in a named file-backed
 * mapping, the document sits in its own memfd at the declared address),
 * REMOVE with the generation at disable, and nothing registered without a
 * device. Then, as root with tracefs, what dtrace-utils does on
 * `dtrace -n 'dtl$pid:::q'`: a uprobe on the DTrace stub's tracepoint: fire
 * reaches it with every argument where DTrace reads them (7th and 8th at
 * 0(%rsp) and 8(%rsp)) and usdt_is_enabled() sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dof/dof.h"
#include "dof/dof_format.h"
#include "usdt.h"
#include "usdt_internal.h"

#define FAKE_FD 4242
#define GEN 7

static struct {
	int present, opens, adds, removes, refuse;
	unsigned long last_request;
	uint8_t helper[USDT_DOF_HELPER_SIZE];
	uint8_t *doc;
	size_t doclen;
	long removed_gen;
} dev;

static int d_open(void *ctx, const char *path, int flags)
{
	(void)ctx; (void)flags;
	if (!dev.present || strcmp(path, "/dev/dtrace/helper") != 0) {
		errno = ENOENT;
		return -1;
	}
	dev.opens++;
	return FAKE_FD;
}

static int d_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	if (fd != FAKE_FD) {
		errno = EBADF;
		return -1;
	}
	dev.last_request = request;
	if (request == USDT_DOF_LINUX_ADDDOF && dev.refuse) {
		errno = dev.refuse;
		return -1;
	}
	if (request == USDT_DOF_LINUX_ADDDOF) {
		memcpy(dev.helper, arg, USDT_DOF_HELPER_SIZE);
		uint64_t addr;
		memcpy(&addr, dev.helper + DOFF_HP_DOF, 8);
		uint64_t loadsz;
		memcpy(&loadsz, (const uint8_t *)(uintptr_t)addr + DOFF_H_LOADSZ, 8);
		free(dev.doc);
		dev.doc = malloc(loadsz);
		memcpy(dev.doc, (const void *)(uintptr_t)addr, loadsz);
		dev.doclen = loadsz;
		dev.adds++;
		return GEN;
	}
	if (request == USDT_DOF_LINUX_REMOVE) {
		dev.removes++;
		dev.removed_gen = (long)(intptr_t)arg;
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

static int maps_has(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Start of the mapping of the ELF object of provider `prov` (offset 0). */
static uintptr_t object_base(const char *prov, char *fdpath, size_t len)
{
	char needle[64], line[512];
	snprintf(needle, sizeof needle, "/memfd:libusdt:%s ", prov);
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t base = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, off;
		if (strstr(line, needle) && sscanf(line, "%lx-%*x %*s %lx", &lo, &off) == 2 && off == 0) {
			base = lo;
			break;
		}
	}
	fclose(f);
	for (int fd = 3; fd < 1024 && base; fd++) {
		char p[64], t[256];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(p, t, sizeof t - 1);
		if (n > 0) {
			t[n] = '\0';
			snprintf(needle, sizeof needle, "/memfd:libusdt:%s ", prov);
			if (strncmp(t, needle, strlen(needle) - 1) == 0 && t[strlen(needle) - 1] == ' ') {
				snprintf(fdpath, len, "/proc/%d/fd/%d", (int)getpid(), fd);
				return base;
			}
		}
	}
	return 0;
}

static int write_file(const char *path, const char *s, int append)
{
	int fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void live_uprobe(usdt_probedef_t *q)
{
	const char *T = "/sys/kernel/tracing";
	char path[256], fdpath[128], cmd[512], buf[8192];
	if (geteuid() != 0 || access("/sys/kernel/tracing/uprobe_events", W_OK) != 0) {
		printf("# live part needs root and tracefs: ");
		CHECK(getenv("CI") == NULL, "live uprobe on the DTrace stub (skipped)");
		return;
	}
	const struct usdt_binding *b = q->probe->_live;
	uintptr_t base = object_base("dtl", fdpath, sizeof fdpath);
	CHECK(base != 0, "found the ELF object %s at %#lx", fdpath, (unsigned long)base);
	unsigned long off = (unsigned long)((uintptr_t)b->dt_probe_tp - base);
	snprintf(cmd, sizeof cmd,
	         "p:usdt_dtl%d/q %s:%#lx a=%%di:s32 b=%%si:u8 c=%%dx:s16 d=%%cx:u64 e=%%r8:s64 f=%%r9:u32 "
	         "g=+0(%%sp):s32 h=+8(%%sp):u64\n", (int)getpid(), fdpath, off);
	CHECK(write_file("/sys/kernel/tracing/uprobe_events", cmd, 1) == 0, "uprobe on the DTrace tracepoint: %s", cmd);
	snprintf(path, sizeof path, "%s/events/usdt_dtl%d/q/enable", T, (int)getpid());
	write_file("/sys/kernel/tracing/trace", "", 0);
	CHECK(usdt_is_enabled(q->probe) == 0, "before DTrace enables q: is_enabled 0");
	CHECK(write_file(path, "1\n", 0) == 0, "enable the uprobe (as dtrace-utils does)");
	CHECK(usdt_is_enabled(q->probe) == 1 && usdt_is_enabled_inline(q->probe) == 1,
	      "while enabled: is_enabled 1 (tracepoint byte %#x)", *b->dt_probe_tp);
	void *argv[8] = { (void *)(intptr_t)-7, (void *)0x1ff, (void *)(intptr_t)-300, (void *)~0ul,
	                  (void *)(intptr_t)INT64_MIN, (void *)0xfffffffful, (void *)(intptr_t)-123456,
	                  (void *)0x1122334455667788ul };
	usdt_fire_probe(q->probe, 8, argv);
	usdt_fire_probe(q->probe, 8, argv);
	write_file(path, "0\n", 0);
	int fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *want = "a=-7 b=255 c=-300 d=18446744073709551615 e=-9223372036854775808 f=4294967295 "
	                   "g=-123456 h=1234605616436508552";
	CHECK(strstr(buf, want) != NULL, "the uprobe read all 8 arguments where DTrace reads them: %s",
	      strstr(buf, "a=") ? strstr(buf, "a=") : buf);
	CHECK(usdt_is_enabled(q->probe) == 0, "after DTrace disables q: is_enabled 0");
	snprintf(cmd, sizeof cmd, "-:usdt_dtl%d/q\n", (int)getpid());
	write_file("/sys/kernel/tracing/uprobe_events", cmd, 1);
}

int main(void)
{
	char msg[512];
	struct usdt_dof_device_ops ops = { d_open, d_ioctl, d_close, NULL };
	usdt_dof_set_device_ops(&ops);

	const char *tp[] = { "int", "char *" };
	const char *tq[] = { "int", "uint8_t", "int16_t", "uint64_t", "int64_t", "uint32_t", "int", "uint64_t" };
	usdt_provider_t *prov = usdt_create_provider("dtl", NULL);
	usdt_probedef_t *p = usdt_create_probe("", "p", 2, tp);
	usdt_probedef_t *q = usdt_create_probe("handler", "q", 8, tq);
	usdt_provider_add_probe(prov, p);
	usdt_provider_add_probe(prov, q);

	/* no device: nothing is registered, no error, no stubs */
	CHECK(usdt_provider_enable(prov) == 0 && dev.adds == 0, "without a helper device: enabled, nothing registered");
	CHECK(((const struct usdt_binding *)p->probe->_live)->dt_stub == NULL, "  and no DTrace stubs");
	usdt_provider_disable(prov);

	dev.present = 1;
	usdt_dof_set_device_ops(&ops);   /* forget the remembered "no device" (rechecked every second) */
	CHECK(usdt_provider_enable(prov) == 0, "with a helper device: enabled (%s)", usdt_errstr(prov));
	if (!prov->enabled)
		return check_done();
	CHECK(dev.adds == 1 && dev.last_request == USDT_DOF_LINUX_ADDDOF, "one ADDDOF with request %#lx",
	      dev.last_request);
	CHECK(strcmp((const char *)dev.helper + DOFF_HP_MOD, "libusdt") == 0,
	      "helper module \"%s\" (empty module shown as libusdt)", (const char *)dev.helper + DOFF_HP_MOD);
	uint64_t addr, dofp;
	memcpy(&addr, dev.helper + DOFF_HP_ADDR, 8);
	memcpy(&dofp, dev.helper + DOFF_HP_DOF, 8);
	CHECK(addr == dofp && maps_has("/memfd:libusdt-dof:dtl") == 1, "dofhp_addr == dofhp_dof, in its own memfd");

	const struct usdt_binding *bp = p->probe->_live, *bq = q->probe->_live;
	if (bp->dt_stub == NULL || bq->dt_stub == NULL) {
		CHECK(0, "the bindings have DTrace stubs");
		return check_done();
	}
	uint64_t probe_sites[2] = { (uintptr_t)bp->dt_probe_tp, (uintptr_t)bq->dt_probe_tp };
	uint64_t isen_sites[2] = { (uintptr_t)bp->dt_isen_tp, (uintptr_t)bq->dt_isen_tp };
	struct usdt_dof_sites sites = { addr, "libusdt", probe_sites, 2, isen_sites, 2, 1 };
	int rc = usdt_dof_validate(USDT_DOF_LINUX, (const void *)(uintptr_t)addr, dev.doclen, &sites, msg, sizeof msg);
	CHECK(rc == 0, "the registered document passes every dtrace-utils check in place: %s", rc ? msg : "ok");
	CHECK(memcmp(dev.doc, (const void *)(uintptr_t)addr, dev.doclen) == 0, "the device got those bytes");
	CHECK(usdt_dof_validate_helper(USDT_DOF_LINUX, dev.helper, (const void *)(uintptr_t)addr, msg, sizeof msg) == 0,
	      "the helper struct passes the checks");
	FILE *dump = fopen("/dev/null", "w");
	CHECK(usdt_dof_dump(dev.doc, dev.doclen, dump) == 0, "the document dumps");
	fclose(dump);
	CHECK(bp->dt_stub != NULL && *bp->dt_probe_tp == 0x90 && *bq->dt_isen_tp == 0x90,
	      "bindings point at DTrace stubs with idle tracepoints");
	CHECK(usdt_is_enabled(q->probe) == 0, "no tracer: is_enabled 0");

	live_uprobe(q);

	CHECK(usdt_provider_disable(prov) == 0 && dev.removes == 1 && dev.removed_gen == GEN,
	      "disable: REMOVE with generation %ld", dev.removed_gen);
	CHECK(maps_has("libusdt-dof:dtl") == 0 && maps_has("libusdt:dtl") == 0, "document and object unmapped");

	/* a device that refuses the document: a clear error with the errno text */
	dev.refuse = EINVAL;
	CHECK(usdt_provider_enable(prov) == -1 && strstr(usdt_errstr(prov), "Invalid argument") != NULL &&
	      maps_has("libusdt") == 0, "a refusing device: enable fails, nothing left mapped: %s", usdt_errstr(prov));
	dev.refuse = 0;
	CHECK(usdt_provider_enable(prov) == 0 && dev.adds == 2, "a later enable succeeds");
	usdt_dof_set_device_ops(NULL);
	usdt_provider_free(prov);
	usdt_probe_release(p);
	usdt_probe_release(q);
	free(dev.doc);
	return check_done();
}
