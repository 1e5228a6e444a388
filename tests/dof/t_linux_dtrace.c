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
 * device. On every architecture with DTrace stubs (x86_64 and aarch64):
 * the stubs sit in slots of usdt_dof_stub_size() bytes at the tracepoint
 * offsets of the Linux profile, and what a uprobe does is simulated in the
 * process (the tracepoint made a breakpoint — int3, or BRK #5 as arm64
 * uprobes write — in a private copy of the page, a SIGTRAP handler reading
 * the registers): usdt_is_enabled() sees it, fire reaches it with every
 * argument where dtrace-utils reads them (x86_64: %rdi..%r9 then 0(%rsp),
 * 8(%rsp); arm64: x0-x7 then [sp], [sp+8]), and the is-enabled stub
 * returns what the tracer wrote through arg0. Then, as root with tracefs
 * on a kernel of the test's own architecture (not under qemu-user), what
 * dtrace-utils does on `dtrace -n 'dtl$pid:::q'`: a real uprobe on the
 * DTrace stub's tracepoint, read the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "dof/dof.h"
#include "dof/dof_format.h"
#include "usdt.h"
#include "usdt_internal.h"

#define FAKE_FD 4242
#define GEN 7

/* The tracepoint of an untouched stub, a breakpoint as a uprobe writes it,
 * the kernel's name of the machine (/proc/sys/kernel/arch), and the
 * uprobe_events fetch arguments where DTrace reads q's 10 arguments. */
#if defined(__x86_64__)
static const uint8_t tp_idle[] = { 0x90 };                       /* nop */
static const uint8_t tp_break[] = { 0xcc };                      /* int3 */
#define STUB_SLOT 16
#define KERNEL_ARCH "x86_64"
#define FETCHARGS "a=%di:s32 b=%si:u8 c=%dx:s16 d=%cx:u64 e=%r8:s64 f=%r9:u32 g=+0(%sp):s32 h=+8(%sp):u64 " \
	"i=+16(%sp):s32 j=+24(%sp):u64"
#elif defined(__aarch64__)
static const uint8_t tp_idle[] = { 0x1f, 0x20, 0x03, 0xd5 };     /* nop */
static const uint8_t tp_break[] = { 0xa0, 0x00, 0x20, 0xd4 };    /* BRK #5 */
#define STUB_SLOT 32
#define KERNEL_ARCH "aarch64"
#define FETCHARGS "a=%x0:s32 b=%x1:u8 c=%x2:s16 d=%x3:u64 e=%x4:s64 f=%x5:u32 g=%x6:s32 h=%x7:u64 " \
	"i=+0(%sp):s32 j=+8(%sp):u64"
#else
#define NO_DTRACE_STUBS 1   /* i386: no DTrace stubs, a helper device is ignored */
#endif

#ifdef NO_DTRACE_STUBS
int main(void)
{
	printf("no DTrace stubs on this architecture\n");
	return 77;
}
#else

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

/* q's arguments: 6 (x86_64) or 8 (arm64) in registers, the rest on the
 * stack at the tracepoint. */
#define QARGC 10
static void *qargv[QARGC] = { (void *)(intptr_t)-7, (void *)0x1ff, (void *)(intptr_t)-300, (void *)~0ul,
                              (void *)(intptr_t)INT64_MIN, (void *)0xfffffffful, (void *)(intptr_t)-123456,
                              (void *)0x1122334455667788ul, (void *)(intptr_t)-42,
                              (void *)0xdeadbeefcafef00dul };

/* ---- a uprobe simulated in the process ---- */
static volatile sig_atomic_t traps;
static volatile int write_flag;       /* as dtrace-utils at is-enabled: *(int *)arg0 = 1 */
static uint64_t trapped[QARGC];       /* the arguments where DTrace reads them */

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	(void)sig; (void)si;
	ucontext_t *uc = ucv;
#if defined(__x86_64__)
	greg_t *g = uc->uc_mcontext.gregs;
	const uint64_t *sp = (const uint64_t *)(uintptr_t)g[REG_RSP];
	uint64_t r[6] = { (uint64_t)g[REG_RDI], (uint64_t)g[REG_RSI], (uint64_t)g[REG_RDX],
	                  (uint64_t)g[REG_RCX], (uint64_t)g[REG_R8], (uint64_t)g[REG_R9] };
	size_t nreg = 6;
	/* %rip is already past the int3: the next nop runs */
#elif defined(__aarch64__)
	const uint64_t *sp = (const uint64_t *)(uintptr_t)uc->uc_mcontext.sp;
	const uint64_t *r = (const uint64_t *)uc->uc_mcontext.regs;
	size_t nreg = 8;
	uc->uc_mcontext.pc += 4;   /* over the BRK (it replaced a nop) */
#endif
	for (size_t i = 0; i < QARGC; i++)
		trapped[i] = i < nreg ? r[i] : sp[i - nreg];
	if (write_flag)
		*(volatile int32_t *)(uintptr_t)r[0] = 1;
	traps++;
}

/* Write code at a tracepoint, in a private copy of its page (as uprobes
 * does: the file is not changed). */
static int patch(const unsigned char *tp, const uint8_t *code, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *page = (void *)((uintptr_t)tp & ~(uintptr_t)(pg - 1));
	if (mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		return -1;
	memcpy((void *)(uintptr_t)tp, code, len);
	__builtin___clear_cache((char *)(uintptr_t)tp, (char *)(uintptr_t)tp + len);
	return mprotect(page, (size_t)pg, PROT_READ | PROT_EXEC);
}

/* The stub layout the Linux profile describes, and DTrace's effect on it
 * simulated: on every architecture with stubs, qemu-user included. */
static void simulated_dtrace(usdt_probedef_t *p, usdt_probedef_t *q)
{
	const struct usdt_binding *bp = p->probe->_live, *b = q->probe->_live;
	uint8_t scratch[USDT_DOF_STUB_MAX];
	size_t slot = usdt_dof_stub_size(USDT_DOF_LINUX), psite = 99, isite = 99;
	usdt_dof_stub_probe(USDT_DOF_LINUX, scratch, sizeof scratch, &psite);
	usdt_dof_stub_isenabled(USDT_DOF_LINUX, scratch, sizeof scratch, &isite);
	CHECK(slot == STUB_SLOT,
	      "stub slots of usdt_dof_stub_size() = %zu bytes (%s)", slot, KERNEL_ARCH);
	CHECK(b->dt_stub == bp->dt_stub + 2 * slot, "one probe stub and one is-enabled stub per probe, %zu bytes apart",
	      (size_t)(b->dt_stub - bp->dt_stub));
	CHECK(b->dt_probe_tp == b->dt_stub + psite && b->dt_isen_tp == b->dt_stub + slot + isite,
	      "tracepoints at stub+%zu and stub+%zu+%zu (the Linux profile's sites)", psite, slot, isite);
	CHECK((uintptr_t)b->dt_probe_tp % sizeof tp_idle == 0 && (uintptr_t)b->dt_isen_tp % sizeof tp_idle == 0,
	      "tracepoints aligned to the instruction size (%zu)", sizeof tp_idle);
	CHECK(memcmp(b->dt_probe_tp, tp_idle, sizeof tp_idle) == 0 && memcmp(b->dt_isen_tp, tp_idle, sizeof tp_idle) == 0 &&
	      memcmp(bp->dt_probe_tp, tp_idle, sizeof tp_idle) == 0 && memcmp(bp->dt_isen_tp, tp_idle, sizeof tp_idle) == 0,
	      "every tracepoint is an idle nop");
	int (*isen)(void) = (int (*)(void))(uintptr_t)(b->dt_stub + slot);
	CHECK(isen() == 0, "the is-enabled stub returns 0 while DTrace is not there");

	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, &old);

	/* DTrace enables q: a breakpoint on the probe tracepoint */
	CHECK(patch(b->dt_probe_tp, tp_break, sizeof tp_break) == 0, "breakpoint written on q's probe tracepoint");
	CHECK(usdt_is_enabled(q->probe) == 1 && usdt_is_enabled(p->probe) == 0,
	      "usdt_is_enabled: q 1 (tracepoint %02x%02x...), p 0", b->dt_probe_tp[0], b->dt_probe_tp[1]);
	traps = 0;
	memset(trapped, 0, sizeof trapped);
	usdt_fire_probe(q->probe, QARGC, qargv);
	int same = 1;
	for (size_t i = 0; i < QARGC; i++)
		same &= trapped[i] == (uint64_t)(uintptr_t)qargv[i];
	CHECK(traps == 1 && same, "fire reached the breakpoint once (%d) with all %d arguments where DTrace reads them "
	      "(%" PRId64 " %#" PRIx64 " ... %" PRId64 " %#" PRIx64 ")", (int)traps, QARGC, (int64_t)trapped[0], trapped[1],
	      (int64_t)trapped[8], trapped[9]);
	usdt_fire_probe(p->probe, 0, NULL);
	CHECK(traps == 1, "p's fire did not reach q's tracepoint");
#if defined(__aarch64__)
	/* the whole word counts, not its first byte: b .+124 starts with 1f as the nop does */
	static const uint8_t b_fwd[] = { 0x1f, 0x00, 0x00, 0x14 };
	CHECK(patch(b->dt_probe_tp, b_fwd, sizeof b_fwd) == 0 && usdt_is_enabled(q->probe) == 1,
	      "another word with the nop's first byte at the tracepoint: q enabled");
#endif
	CHECK(patch(b->dt_probe_tp, tp_idle, sizeof tp_idle) == 0 && usdt_is_enabled(q->probe) == 0,
	      "the nop back: q not enabled");
	usdt_fire_probe(q->probe, QARGC, qargv);
	CHECK(traps == 1, "an untraced fire does not reach the stub");

	/* DTrace enables an is-enabled probe of q: it writes 1 through arg0 */
	CHECK(patch(b->dt_isen_tp, tp_break, sizeof tp_break) == 0, "breakpoint written on q's is-enabled tracepoint");
	CHECK(usdt_is_enabled(q->probe) == 1, "usdt_is_enabled sees the is-enabled tracepoint");
	write_flag = 1;
	traps = 0;
	int v = isen();
	write_flag = 0;
	CHECK(traps == 1 && v == 1, "the is-enabled stub returns 1 when the tracer writes 1 through arg0 (%d, %d traps)",
	      v, (int)traps);
	traps = 0;
	usdt_fire_probe(q->probe, QARGC, qargv);
	CHECK(traps == 0, "fire does not run the is-enabled stub");
	CHECK(patch(b->dt_isen_tp, tp_idle, sizeof tp_idle) == 0 && usdt_is_enabled(q->probe) == 0 && isen() == 0,
	      "the nop back: not enabled, the stub returns 0");
	sigaction(SIGTRAP, &old, NULL);
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
	/* Under qemu-user the kernel is the host's: its uprobes would patch
	 * our code with the host's breakpoint, which the emulated CPU never
	 * executes as one, and its uprobe_events knows only the host's
	 * registers. The arm64 VM (tests/vm) runs this part on arm64. */
	char karch[32] = "";
	FILE *ka = fopen("/proc/sys/kernel/arch", "r");
	if (ka != NULL) {
		if (fgets(karch, sizeof karch, ka) == NULL)
			karch[0] = '\0';
		karch[strcspn(karch, "\n")] = '\0';
		fclose(ka);
	}
	if (karch[0] != '\0' && strcmp(karch, KERNEL_ARCH) != 0) {
		printf("# SKIP live uprobe: the kernel is %s, this process %s (qemu-user)\n", karch, KERNEL_ARCH);
		return;
	}
	const struct usdt_binding *b = q->probe->_live;
	uintptr_t base = object_base("dtl", fdpath, sizeof fdpath);
	CHECK(base != 0, "found the ELF object %s at %#lx", fdpath, (unsigned long)base);
	unsigned long off = (unsigned long)((uintptr_t)b->dt_probe_tp - base);
	snprintf(cmd, sizeof cmd,
	         "p:usdt_dtl%d/q %s:%#lx %s\n", (int)getpid(), fdpath, off, FETCHARGS);
	CHECK(write_file("/sys/kernel/tracing/uprobe_events", cmd, 1) == 0, "uprobe on the DTrace tracepoint: %s", cmd);
	snprintf(path, sizeof path, "%s/events/usdt_dtl%d/q/enable", T, (int)getpid());
	write_file("/sys/kernel/tracing/trace", "", 0);
	CHECK(usdt_is_enabled(q->probe) == 0, "before DTrace enables q: is_enabled 0");
	CHECK(write_file(path, "1\n", 0) == 0, "enable the uprobe (as dtrace-utils does)");
	CHECK(usdt_is_enabled(q->probe) == 1 && usdt_is_enabled_inline(q->probe) == 1,
	      "while enabled: is_enabled 1 (tracepoint bytes %02x %02x)", b->dt_probe_tp[0], b->dt_probe_tp[1]);
	usdt_fire_probe(q->probe, QARGC, qargv);
	usdt_fire_probe(q->probe, QARGC, qargv);
	write_file(path, "0\n", 0);
	int fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *want = "a=-7 b=255 c=-300 d=18446744073709551615 e=-9223372036854775808 f=4294967295 "
	                   "g=-123456 h=1234605616436508552 i=-42 j=16045690984503111693";
	CHECK(strstr(buf, want) != NULL, "the uprobe read all 10 arguments where DTrace reads them: %s",
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
	const char *tq[QARGC] = { "int",      "uint8_t", "int16_t", "uint64_t", "int64_t",
	                          "uint32_t", "int",     "uint64_t", "int",     "uint64_t" };
	usdt_provider_t *prov = usdt_create_provider("dtl", NULL);
	usdt_probedef_t *p = usdt_create_probe("", "p", 2, tp);
	usdt_probedef_t *q = usdt_create_probe("handler", "q", QARGC, tq);
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
	CHECK(bp->dt_stub != NULL && memcmp(bp->dt_probe_tp, tp_idle, sizeof tp_idle) == 0 &&
	      memcmp(bq->dt_isen_tp, tp_idle, sizeof tp_idle) == 0, "bindings point at DTrace stubs with idle tracepoints");
	CHECK(usdt_is_enabled(q->probe) == 0, "no tracer: is_enabled 0");

	simulated_dtrace(p, q);
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
#endif
