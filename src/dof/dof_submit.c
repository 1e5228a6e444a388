/*
 * dof_submit.c — handing DOF documents to the DTrace helper device and
 * taking them back (dof.md §11): per-OS request codes and helper
 * structures (80-byte dof_helper_t; FreeBSD 88 bytes with pid and
 * generation; macOS a dof_ioctl_data_t wrapper passed through a 64-bit
 * address variable), the generation read from where each OS returns it,
 * REMOVE at disable, and on Linux re-registration in forked children
 * (dtprobed keys documents by pid and children do not inherit them).
 *
 * The device is reached through replaceable entry points
 * (usdt_dof_set_device_ops) so that tests can record exactly what would
 * reach the kernel. A missing helper device means "DTrace is not here":
 * registration does nothing and reports no error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dof/dof_internal.h"
#include "fork.h"

#define HELPER_PATH "/dev/dtrace/helper"
#define HELPER_PATH_MACOS "/dev/dtracehelper"
#define HELPER_PATH_ILLUMOS_LEGACY "/devices/pseudo/dtrace@0:helper"

static int real_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	return open(path, flags);
}

static int real_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	return ioctl(fd, request, arg);
}

static int real_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd);
}

static const struct usdt_dof_device_ops real_ops = {
	real_open, real_ioctl, real_close, NULL
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usdt_dof_device_ops dev = {
	real_open, real_ioctl, real_close, NULL
};
static struct usdt_dof_registration *reg_head;
static int atfork_installed;

/* "No helper device" is remembered for USDT_DOF_ABSENT_RECHECK_NS, so that
 * enabling providers on a system without DTrace (the common case) does not
 * pay an open() each time; a device loaded meanwhile is seen after that. */
#define USDT_DOF_ABSENT_RECHECK_NS 1000000000LL
static long long absent_until[USDT_DOF_NPROFILES];   /* CLOCK_MONOTONIC ns */

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void usdt_dof_set_device_ops(const struct usdt_dof_device_ops *ops)
{
	pthread_mutex_lock(&reg_lock);
	dev = ops ? *ops : real_ops;
	for (int i = 0; i < USDT_DOF_NPROFILES; i++)
		__atomic_store_n(&absent_until[i], 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&reg_lock);
}

const char *usdt_dof_helper_path(usdt_dof_profile_t profile)
{
	return usdt_dof_profile_os(profile) == USDT_DOF_MACOS ? HELPER_PATH_MACOS : HELPER_PATH;
}

/* Open the helper device; returns the fd, -2 when there is none (ENOENT),
 * -1 on another error (errno set). Called with reg_lock held. */
static int open_helper(usdt_dof_profile_t profile)
{
	int fd = dev.open(dev.ctx, usdt_dof_helper_path(profile),
			  O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && profile == USDT_DOF_ILLUMOS)
		fd = dev.open(dev.ctx, HELPER_PATH_ILLUMOS_LEGACY,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENXIO || errno == ENODEV))
		return -2;
	return fd;
}

int usdt_dof_device_present(usdt_dof_profile_t profile)
{
	profile = usdt_dof_profile_os(profile);   /* the device is per OS */
	if ((unsigned)profile >= USDT_DOF_NPROFILES)
		return 0;
	long long now = now_ns();
	if (now < __atomic_load_n(&absent_until[profile], __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&reg_lock);
	int fd = open_helper(profile);
	if (fd >= 0)
		dev.close(dev.ctx, fd);
	if (fd == -2)
		__atomic_store_n(&absent_until[profile], now + USDT_DOF_ABSENT_RECHECK_NS, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&reg_lock);
	return fd >= 0 ? 1 : fd == -2 ? 0 : -1;
}

/* One ADDDOF. Returns the generation (>= 0) or -1 with errno set. Called
 * with reg_lock held. */
static int adddof(int fd, usdt_dof_profile_t profile, const void *doc,
		  const char *module)
{
	uint8_t h[USDT_DOF_FREEBSD_HELPER_SIZE];
	uint64_t addr = (uint64_t)(uintptr_t)doc;
	int rc;

	memset(h, 0, sizeof h);
	memcpy(h + DOFF_HP_MOD, module, strlen(module) + 1);
	dof_wr64(h, DOFF_HP_ADDR, addr);
	dof_wr64(h, DOFF_HP_DOF, addr);
	switch (profile) {
	case USDT_DOF_ILLUMOS:
		return dev.ioctl(dev.ctx, fd, USDT_DOF_ILLUMOS_ADDDOF, h);
	case USDT_DOF_LINUX:
		return dev.ioctl(dev.ctx, fd, USDT_DOF_LINUX_ADDDOF, h);
	case USDT_DOF_FREEBSD:
		dof_wr32(h, DOFF_HP_PID, (uint32_t)getpid());
		rc = dev.ioctl(dev.ctx, fd, USDT_DOF_FREEBSD_ADDDOF, h);
		if (rc < 0)
			return -1;
		return (int)dof_rd32(h, DOFF_HP_GEN);
	case USDT_DOF_MACOS: {
		/* dof_ioctl_data_t { uint64 count; dof_helper_t helpers[1]; } */
		uint8_t iod[DOFF_IOD_HELPERS + USDT_DOF_HELPER_SIZE];
		dof_wr64(iod, 0, 1);
		memcpy(iod + DOFF_IOD_HELPERS, h, USDT_DOF_HELPER_SIZE);
		uint64_t iodp = (uint64_t)(uintptr_t)iod;
		rc = dev.ioctl(dev.ctx, fd, USDT_DOF_MACOS_ADDDOF, &iodp);
		if (rc < 0)
			return -1;
		/* the kernel writes the generation over dofhp_dof */
		return (int)dof_rd64(iod, DOFF_IOD_HELPERS + DOFF_HP_DOF);
	}
	default:   /* callers pass usdt_dof_profile_os() */
		break;
	}
	errno = EINVAL;
	return -1;
}

static int removedof(int fd, usdt_dof_profile_t profile, int gen)
{
	switch (profile) {
	case USDT_DOF_ILLUMOS:
		return dev.ioctl(dev.ctx, fd, USDT_DOF_ILLUMOS_REMOVE,
				 (void *)(intptr_t)gen);
	case USDT_DOF_LINUX:
		return dev.ioctl(dev.ctx, fd, USDT_DOF_LINUX_REMOVE,
				 (void *)(intptr_t)gen);
	case USDT_DOF_MACOS:
		return dev.ioctl(dev.ctx, fd, USDT_DOF_MACOS_REMOVE,
				 (void *)(intptr_t)gen);
	case USDT_DOF_FREEBSD: {
		int g = gen;
		return dev.ioctl(dev.ctx, fd, USDT_DOF_FREEBSD_REMOVE, &g);
	}
	default:
		break;
	}
	errno = EINVAL;
	return -1;
}

static void reg_unlink(struct usdt_dof_registration *reg)
{
	for (struct usdt_dof_registration **pp = &reg_head; *pp;
	     pp = &(*pp)->next)
		if (*pp == reg) {
			*pp = reg->next;
			break;
		}
	reg->next = NULL;
}

/* fork(): src/fork.c takes reg_lock in its one prepare handler (after the
 * groups lock, before the reader registry) and calls these afterwards. */
void usdt_dof_fork_prepare(void) { pthread_mutex_lock(&reg_lock); }
void usdt_dof_fork_parent(void) { pthread_mutex_unlock(&reg_lock); }
void usdt_dof_fork_child(void)
{
	int any = atfork_installed;
	pthread_mutex_unlock(&reg_lock);
	if (any)
		(void)usdt_dof_reregister_after_fork();
}

int usdt_dof_register(usdt_dof_profile_t profile, const void *doc,
		      size_t len, const char *module,
		      struct usdt_dof_registration *reg, char *err,
		      size_t errlen)
{
	const char *why;
	int rc = -1;

	profile = usdt_dof_profile_os(profile);   /* submission is per OS */
	if ((unsigned)profile >= USDT_DOF_NPROFILES || !doc || !reg ||
	    len < DOFF_HDR_SIZE)
		return usdt_dof_errf(err, errlen,
				     "invalid DOF registration request");
	if (!module || (why = usdt_dof_bad_component(module,
						    USDT_DOF_MODULE_NAME_MAX)))
		return usdt_dof_errf(err, errlen, "DTrace module name \"%.80s\" %s",
				     module ? module : "(null)",
				     module ? why : "is missing");
	memset(reg, 0, sizeof *reg);
	/* Linux children re-register through src/fork.c's handlers: make sure
	 * they exist even in a program that links only this module from
	 * libusdt.a (fork.o's constructor is not linked in then). Not under
	 * reg_lock: pthread_atfork takes glibc's atfork lock, which fork()
	 * holds while the prepare handler takes reg_lock. */
	if (profile == USDT_DOF_LINUX)
		usdt_fork_init();
	pthread_mutex_lock(&reg_lock);
	int count = 0, max = profile == USDT_DOF_MACOS ?
		USDT_DOF_MACOS_MAX_REGISTERED : USDT_DOF_MAX_REGISTERED;
	for (struct usdt_dof_registration *r = reg_head; r; r = r->next) {
		if (r->doc == doc) {
			usdt_dof_errf(err, errlen, "this DOF document (%p) is "
				      "already registered; the helper device "
				      "would silently ignore it", doc);
			goto out;
		}
		count++;
	}
	if (count >= max) {
		usdt_dof_errf(err, errlen, "too many DTrace providers in this "
			      "process (the %s limit is %d)",
			      usdt_dof_profile_name(profile), max);
		goto out;
	}
	int fd = open_helper(profile);
	if (fd == -2) {
		rc = 1;   /* no DTrace here: nothing to do, not an error */
		goto out;
	}
	if (fd < 0) {
		usdt_dof_errf(err, errlen, "cannot open the DTrace helper device "
			      "%s: %s", usdt_dof_helper_path(profile),
			      strerror(errno));
		goto out;
	}
	int gen = adddof(fd, profile, doc, module);
	int saved = errno;
	dev.close(dev.ctx, fd);
	if (gen < 0) {
		usdt_dof_errf(err, errlen, "the DTrace helper device %s refused "
			      "the DOF document of module %s: %s",
			      usdt_dof_helper_path(profile), module,
			      strerror(saved));
		goto out;
	}
	reg->profile = profile;
	reg->active = 1;
	reg->gen = gen;
	reg->doc = doc;
	reg->len = len;
	memcpy(reg->module, module, strlen(module) + 1);
	reg->next = reg_head;
	reg_head = reg;
	if (profile == USDT_DOF_LINUX)
		atfork_installed = 1;   /* children re-register (fork.c) */
	rc = 0;
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int usdt_dof_unregister(struct usdt_dof_registration *reg, char *err,
			size_t errlen)
{
	int rc = 0;
	if (!reg || !reg->active)
		return 0;
	pthread_mutex_lock(&reg_lock);
	reg_unlink(reg);
	reg->active = 0;
	int fd = open_helper(reg->profile);
	if (fd == -2)
		goto out;   /* the device went away, and the document with it */
	if (fd < 0) {
		rc = usdt_dof_errf(err, errlen, "cannot open the DTrace helper "
				   "device %s: %s",
				   usdt_dof_helper_path(reg->profile),
				   strerror(errno));
		goto out;
	}
	int r = removedof(fd, reg->profile, reg->gen);
	int saved = errno;
	dev.close(dev.ctx, fd);
	if (r < 0)
		rc = usdt_dof_errf(err, errlen, "the DTrace helper device %s "
				   "refused to remove generation %d (module %s): %s",
				   usdt_dof_helper_path(reg->profile), reg->gen,
				   reg->module, strerror(saved));
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int usdt_dof_reregister_after_fork(void)
{
	int failed = 0;
	pthread_mutex_lock(&reg_lock);
	struct usdt_dof_registration **pp = &reg_head;
	while (*pp) {
		struct usdt_dof_registration *r = *pp;
		if (r->profile != USDT_DOF_LINUX || !r->active) {
			pp = &r->next;
			continue;
		}
		int fd = open_helper(r->profile);
		int gen = fd >= 0 ? adddof(fd, r->profile, r->doc, r->module) : -1;
		if (fd >= 0)
			dev.close(dev.ctx, fd);
		if (gen < 0) {
			/* not registered in this process any more */
			r->active = 0;
			*pp = r->next;
			r->next = NULL;
			failed++;
		} else {
			r->gen = gen;
			pp = &r->next;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return failed;
}
