/*
 * t_faults.c — fault injection: every allocation, system call and dynamic
 * loader call that libusdt makes along create / enable / disable / free /
 * add_probe and remove_probe while enabled is made to fail, one at a time
 * (the N-th call of one function, for every N that happens), and the
 * library must cope:
 *   - the call reports failure (or succeeds through a documented fallback)
 *     with a clear message through usdt_errstr()/usdt_last_errstr();
 *   - the provider stays consistent (probedef->probe set exactly while
 *     enabled) and usable: a later enable, fire, disable and enable work;
 *   - nothing leaks: live heap blocks (counted by the wrappers), file
 *     descriptors (/proc/self/fd), mappings (/proc/self/maps lines) and
 *     files in the file strategy's directory all return to their values
 *     before the scenario;
 *   - memfd_create refused (as by seccomp or vm.memfd_noexec) falls back
 *     to the file strategy, and the enable succeeds; MFD_NOEXEC_SEAL
 *     refused with EINVAL (kernels before 6.3) is retried without it.
 * No source change is needed: the Makefile links this test with
 * -Wl,--wrap=malloc,... (FAULT_WRAPS) so that libusdt's calls reach the
 * __wrap_* functions below, which call __real_* unless the countdown hits.
 * The DTrace path runs against a fake helper device (usdt_dof_set_device_ops)
 * whose open and ioctl can fail too.
 *
 * Six passes: the default loader list (map, then memfd, then file),
 * memfd (LIBUSDT_LOADER=memfd,file) and file (LIBUSDT_LOADER=file), each
 * without and with the DTrace device. Every
 * injected fault prints one line "# FAULT <pass> <operation> <function>#N:
 * <result>"; the distinct messages are listed at the end.
 * T_FAULTS_VERBOSE=0 prints only the summary.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "proc_count.h"
#include "dof/dof.h"
#include "dof/dof_format.h"
#include "probe_pool.h"
#include "usdt.h"
#include "usdt_internal.h"

/* ------------------------------------------------------------ injection */

enum fn {
	F_MALLOC, F_CALLOC, F_REALLOC, F_STRDUP, F_MEMFD, F_FTRUNCATE, F_WRITE, F_PWRITE, F_FCNTL, F_MMAP,
	F_OPEN, F_DLOPEN, F_DLINFO, F_DLCLOSE, F_DEVOPEN, F_DEVIOCTL, F_MEMFD_OLD, F_COUNT
};
static const char *const fn_name[F_COUNT] = {
	"malloc", "calloc", "realloc", "strdup", "memfd_create", "ftruncate", "write", "pwrite", "fcntl",
	"mmap", "open", "dlopen", "dlinfo", "dlclose", "helper-open", "helper-ioctl", "memfd_create(EINVAL)"
};

static int counting;                 /* count (and maybe fail) calls now */
static long calls[F_COUNT];
static int target_fn = -1;
static long target_n;
static int hit;                      /* the target call happened */

static int inject(enum fn f)
{
	if (!counting)
		return 0;
	calls[f]++;
	if ((int)f == target_fn && calls[f] == target_n) {
		hit = 1;
		return 1;
	}
	return 0;
}

/* Live heap blocks handed out through the wrappers: an open-addressing set. */
#define SET_SIZE 65536
static void *live[SET_SIZE];
static long nlive;

static size_t slot_of(void *p)
{
	uintptr_t h = (uintptr_t)p;
	h ^= h >> 17;
	h = (uintptr_t)((uint64_t)h * 0x9e3779b97f4a7c15ull);
	return (size_t)((uint64_t)h >> (sizeof h == 8 ? 40 : 12)) & (SET_SIZE - 1);
}

static void track(void *p)
{
	if (p == NULL)
		return;
	size_t i = slot_of(p);
	while (live[i] != NULL && live[i] != (void *)1)
		i = (i + 1) & (SET_SIZE - 1);
	live[i] = p;
	nlive++;
}

static int untrack(void *p)
{
	if (p == NULL)
		return 0;
	for (size_t i = slot_of(p), k = 0; live[i] != NULL && k < SET_SIZE; i = (i + 1) & (SET_SIZE - 1), k++)
		if (live[i] == p) {
			live[i] = (void *)1;    /* tombstone */
			nlive--;
			return 1;
		}
	return 0;
}

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);
void __real_free(void *);
int __real_memfd_create(const char *, unsigned);
int __real_ftruncate(int, off_t);
ssize_t __real_write(int, const void *, size_t);
ssize_t __real_pwrite(int, const void *, size_t, off_t);
int __real_fcntl(int, int, ...);
void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_open(const char *, int, ...);
void *__real_dlopen(const char *, int);
int __real_dlinfo(void *, int, void *);
int __real_dlclose(void *);

void *__wrap_malloc(size_t);
void *__wrap_calloc(size_t, size_t);
void *__wrap_realloc(void *, size_t);
char *__wrap_strdup(const char *);
void __wrap_free(void *);
int __wrap_memfd_create(const char *, unsigned);
int __wrap_ftruncate(int, off_t);
ssize_t __wrap_write(int, const void *, size_t);
ssize_t __wrap_pwrite(int, const void *, size_t, off_t);
int __wrap_fcntl(int, int, ...);
void *__wrap_mmap(void *, size_t, int, int, int, off_t);
int __wrap_open(const char *, int, ...);
void *__wrap_dlopen(const char *, int);
int __wrap_dlinfo(void *, int, void *);
int __wrap_dlclose(void *);

void *__wrap_malloc(size_t n)
{
	if (inject(F_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_malloc(n);
	track(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
	if (inject(F_CALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_calloc(n, m);
	track(p);
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	if (inject(F_REALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_realloc(old, n);
	if (p != NULL) {
		if (old != NULL)
			untrack(old);
		track(p);
	}
	return p;
}

char *__wrap_strdup(const char *s)
{
	if (inject(F_STRDUP)) {
		errno = ENOMEM;
		return NULL;
	}
	char *p = __real_strdup(s);
	track(p);
	return p;
}

void __wrap_free(void *p)
{
	untrack(p);
	__real_free(p);
}

int __wrap_memfd_create(const char *name, unsigned flags)
{
	int refuse = inject(F_MEMFD), old_kernel = inject(F_MEMFD_OLD);
	if (refuse) {
		errno = EPERM;              /* what a seccomp filter or memfd_noexec says */
		return -1;
	}
	if (old_kernel && (flags & 0x0008U)) {
		errno = EINVAL;             /* a kernel < 6.3 does not know MFD_NOEXEC_SEAL */
		return -1;
	}
	return __real_memfd_create(name, flags);
}

int __wrap_ftruncate(int fd, off_t len)
{
	if (inject(F_FTRUNCATE)) {
		errno = ENOSPC;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	if (inject(F_WRITE)) {
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, len);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (inject(F_PWRITE)) {
		errno = ENOSPC;
		return -1;
	}
	return __real_pwrite(fd, buf, len, off);
}

int __wrap_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	if (inject(F_FCNTL)) {
		errno = EPERM;
		return -1;
	}
	return __real_fcntl(fd, cmd, arg);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (inject(F_MMAP)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
	va_end(ap);
	if (inject(F_OPEN)) {
		errno = EACCES;
		return -1;
	}
	return __real_open(path, flags, mode);
}

/* The dl* failures are real ones, so that dlerror() has the loader's text. */
void *__wrap_dlopen(const char *path, int flags)
{
	if (inject(F_DLOPEN))
		return __real_dlopen("/nonexistent/libusdt-fault-injected.so", flags);
	return __real_dlopen(path, flags);
}

int __wrap_dlinfo(void *h, int request, void *arg)
{
	if (inject(F_DLINFO))
		return __real_dlinfo(h, 0x7fff, arg);      /* an unsupported request */
	return __real_dlinfo(h, request, arg);
}

/* A failing dlclose still unloads (the loader reports errors after the
 * fact); the library must report it and clean up the rest. */
int __wrap_dlclose(void *h)
{
	int rc = __real_dlclose(h);
	if (inject(F_DLCLOSE))
		return -1;
	return rc;
}

/* ------------------------------------------------ fake DTrace helper device */

#define FAKE_FD 4242
static int dev_gen = 1;

static int d_open(void *ctx, const char *path, int flags)
{
	(void)ctx; (void)flags;
	if (strcmp(path, "/dev/dtrace/helper") != 0) {
		errno = ENOENT;
		return -1;
	}
	if (inject(F_DEVOPEN)) {
		errno = EACCES;
		return -1;
	}
	return FAKE_FD;
}

static int d_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx; (void)arg;
	if (fd != FAKE_FD) {
		errno = EBADF;
		return -1;
	}
	if (inject(F_DEVIOCTL)) {
		errno = EINVAL;
		return -1;
	}
	if (request == USDT_DOF_LINUX_ADDDOF)
		return dev_gen++;
	if (request == USDT_DOF_LINUX_REMOVE)
		return 0;
	errno = ENOTTY;
	return -1;
}

static int d_close(void *ctx, int fd)
{
	(void)ctx;
	return fd == FAKE_FD ? 0 : -1;
}

static const struct usdt_dof_device_ops fake_dev = { d_open, d_ioctl, d_close, NULL };

/* ------------------------------------------------------------ resources */

static char dir[64];

static int maps_has(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Objects freed through the API wait in a 64-slot quarantine ring: push
 * untracked blocks through it so that every tracked one is really freed. */
static void flush_quarantine(void)
{
	for (int i = 0; i < 64; i++)
		usdt_quarantine(__real_malloc(1));
}

/* ------------------------------------------------------------ scenarios */

enum op { OP_CREATE, OP_ENABLE, OP_DISABLE, OP_FREE, OP_ADD, OP_REMOVE, OP_COUNT };
static const char *const op_name[OP_COUNT] = {
	"create", "enable", "disable", "free", "add_probe(enabled)", "remove_probe(enabled)"
};

static const char *pass_name;
static int pass_memfd;            /* a list that falls back to file (map, memfd) */
static long injected, problems, fallbacks, memfd_fallbacks, succeeded_anyway;
static long per_fn[F_COUNT];
static int verbose = 1;

/* distinct messages for the summary */
#define MAXMSG 256
static struct { char fn[24], op[24], msg[200]; } msgs[MAXMSG];
static int nmsgs;

static void note_message(enum fn f, enum op o, const char *msg)
{
	char m[200];
	/* numbers (pids, fds, counters) vary: keep the first 199 bytes as they are */
	snprintf(m, sizeof m, "%s", msg);
	for (int i = 0; i < nmsgs; i++)
		if (strcmp(msgs[i].fn, fn_name[f]) == 0 && strcmp(msgs[i].msg, m) == 0)
			return;
	if (nmsgs < MAXMSG) {
		snprintf(msgs[nmsgs].fn, sizeof msgs[0].fn, "%s", fn_name[f]);
		snprintf(msgs[nmsgs].op, sizeof msgs[0].op, "%s", op_name[o]);
		snprintf(msgs[nmsgs].msg, sizeof msgs[0].msg, "%s", m);
		nmsgs++;
	}
}

static void problem(const char *what, enum op o)
{
	problems++;
	printf("# PROBLEM %s %s %s#%ld: %s\n", pass_name, op_name[o], target_fn >= 0 ? fn_name[target_fn] : "-",
	       target_n, what);
}

static const char *t2[] = { "int", "char *" };
static const char *t1[] = { "uint64_t" };

/* Is the provider's state consistent: probes live exactly while enabled? */
static int consistent(usdt_provider_t *p)
{
	for (usdt_probedef_t *pd = p->probedefs; pd != NULL; pd = pd->next)
		if ((pd->probe != NULL) != (p->enabled != 0))
			return 0;
	return 1;
}

/* What the process holds besides heap blocks: compared before and after. */
struct held {
	int fds, maps, files;
};

static struct held held_now(void)
{
	struct held h = { count_fds_linking(NULL), count_maps_lines(UNDER_SANITIZER ? "libusdt" : NULL),
	                  count_dir_entries(dir, "libusdt-") };
	return h;
}

/* Run one scenario; with target_fn < 0 it is a dry run that counts calls. */
static void scenario(enum op o)
{
	struct held h0 = held_now();
	long live0 = nlive;
	int rc = 0;
	char msg[USDT_ERRMSG_MAX] = "";
	usdt_provider_t *p = NULL, *q = NULL;
	usdt_probedef_t *a = NULL, *b = NULL, *c = NULL, *x = NULL;

	if (o != OP_CREATE) {
		p = usdt_create_provider("faults", "fmod");
		a = usdt_create_probe("f", "a", 2, t2);
		b = usdt_create_probe("f", "b", 1, t1);
		c = usdt_create_probe("g", "c", 0, NULL);
		if (p == NULL || a == NULL || b == NULL || c == NULL || usdt_provider_add_probe(p, a) != 0 ||
		    usdt_provider_add_probe(p, b) != 0) {
			problem("set-up failed", o);
			return;
		}
		if (o != OP_ENABLE && usdt_provider_enable(p) != 0) {
			problem(usdt_errstr(p), o);
			return;
		}
	}
	(void)usdt_provider_enable(NULL);      /* a known last error: USDT_ERROR_NULL */
	memset(calls, 0, sizeof calls);
	hit = 0;
	counting = 1;
	switch (o) {
	case OP_CREATE:
		q = usdt_create_provider("fcreate", "m");
		x = usdt_create_probe("f", "x", 2, t2);
		if (q == NULL || x == NULL)
			rc = -1;
		else
			rc = usdt_provider_add_probe(q, x);
		break;
	case OP_ENABLE:
		rc = usdt_provider_enable(p);
		break;
	case OP_DISABLE:
		rc = usdt_provider_disable(p);
		break;
	case OP_FREE:
		usdt_provider_free(p);
		p = NULL;
		break;
	case OP_ADD:
		rc = usdt_provider_add_probe(p, c);
		break;
	case OP_REMOVE:
		rc = usdt_provider_remove_probe(p, b);
		break;
	case OP_COUNT:
		break;
	}
	counting = 0;
	if (target_fn < 0)
		goto teardown;
	if (!hit) {
		printf("# (%s %s %s#%ld not reached this time)\n", pass_name, op_name[o], fn_name[target_fn], target_n);
		goto teardown;
	}
	injected++;
	per_fn[target_fn]++;
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s", usdt_last_errstr());
		if (msg[0] == '\0' || usdt_last_error() == USDT_ERROR_NULL || usdt_last_error() == USDT_ERROR_NONE)
			problem("failure without a clear message", o);
		if (p != NULL && strcmp(usdt_errstr(p), msg) != 0)
			problem("usdt_errstr(provider) differs from usdt_last_errstr()", o);
	} else if (usdt_last_error() != USDT_ERROR_NULL) {
		/* free has no return value: a failure shows as the thread's last error */
		snprintf(msg, sizeof msg, "(returned 0; last error: %s)", usdt_last_errstr());
	}
	if (rc == 0) {
		succeeded_anyway++;
		if ((o == OP_ENABLE || o == OP_ADD || o == OP_REMOVE) && pass_memfd && maps_has(dir) > 0) {
			fallbacks++;
			memfd_fallbacks += target_fn == F_MEMFD;
			snprintf(msg, sizeof msg, "(succeeded: fell back to the file strategy in %s)", dir);
		} else if (target_fn == F_MEMFD_OLD) {
			snprintf(msg, sizeof msg, "(succeeded: memfd created again without MFD_NOEXEC_SEAL)");
		} else if (!msg[0]) {
			snprintf(msg, sizeof msg, "(succeeded: %s)", target_fn == F_DLCLOSE || target_fn == F_DEVIOCTL ||
			         target_fn == F_DEVOPEN ? "failure not fatal here" : "fault absorbed");
		}
	}
	/* a successful add/remove while enabled leaves the change live */
	if (rc == 0 && o == OP_ADD && (!p->enabled || c->probe == NULL || c->_owner != p))
		problem("add_probe returned 0 but the probe is not live", o);
	if (rc != 0 && o == OP_ADD && p->enabled && (c->_owner == p || c->probe != NULL))
		problem("add_probe returned -1 but the probe was added and the provider is still enabled", o);
	if (rc == 0 && o == OP_REMOVE && (b->_owner != NULL || b->probe != NULL))
		problem("remove_probe returned 0 but the probe is still there", o);
	if (strstr(msg, "size changed") != NULL)
		problem("an allocation failure reported as something else", o);
	if (target_fn == F_MEMFD_OLD && rc != 0 && strstr(msg, "memfd_create") != NULL)
		problem("MFD_NOEXEC_SEAL refused: no retry without it", o);
	if (target_fn == F_MEMFD_OLD && rc == 0 && o == OP_ENABLE && maps_has("/memfd:libusdt:") == 0 && pass_memfd)
		problem("MFD_NOEXEC_SEAL refused: the object is not in a memfd", o);
	if (target_fn == F_MEMFD && o == OP_ENABLE && pass_memfd && calls[F_MEMFD] == target_n && target_n == 1 &&
	    rc != 0)
		problem("memfd_create refused: no fallback to the file strategy", o);
	if (verbose)
		printf("# FAULT %s %s %s#%ld: rc=%d: %s\n", pass_name, op_name[o], fn_name[target_fn], target_n, rc, msg);
	note_message((enum fn)target_fn, o, msg);

	/* consistent and usable afterwards */
	if (p != NULL) {
		if (!consistent(p))
			problem("probedef->probe does not match provider->enabled", o);
		if (!p->enabled && usdt_provider_enable(p) != 0)
			problem("a later enable fails", o);
		void *argv[2] = { (void *)1, (void *)"x" };
		usdt_fire_probe(a->probe, 2, argv);
		if (!p->enabled || a->probe == NULL || usdt_provider_disable(p) != 0 || usdt_provider_enable(p) != 0 ||
		    a->probe == NULL)
			problem("provider not usable after the fault", o);
	}
	if (o == OP_CREATE) {
		usdt_provider_t *q2 = usdt_create_provider("fcreate_again", NULL);
		usdt_probedef_t *x2 = usdt_create_probe("f", "x", 2, t2);
		if (q2 == NULL || x2 == NULL || usdt_provider_add_probe(q2, x2) != 0 || usdt_provider_enable(q2) != 0)
			problem(usdt_last_errstr(), o);
		usdt_provider_free(q2);
		usdt_probe_release(x2);
	}
teardown:
	usdt_provider_free(p);
	usdt_provider_free(q);
	usdt_probe_release(a);
	usdt_probe_release(b);
	usdt_probe_release(c);
	usdt_probe_release(x);
	flush_quarantine();
	struct held h1 = held_now();
	if (nlive != live0 || h1.fds != h0.fds || h1.maps != h0.maps || h1.files != h0.files) {
		char what[160];
		snprintf(what, sizeof what, "leak: heap blocks %+ld, fds %+d, mappings %+d, files %+d", nlive - live0,
		         h1.fds - h0.fds, h1.maps - h0.maps, h1.files - h0.files);
		problem(what, o);
	}
}

/* loader: the LIBUSDT_LOADER value, NULL for the default list */
static void run_pass(const char *name, const char *loader, int dtrace)
{
	long inj0 = injected, prob0 = problems;
	pass_name = name;
	pass_memfd = loader == NULL || strcmp(loader, "file") != 0;
	if (loader == NULL)
		unsetenv("LIBUSDT_LOADER");
	else
		setenv("LIBUSDT_LOADER", loader, 1);
	usdt_dof_set_device_ops(dtrace ? &fake_dev : NULL);
	for (int o = 0; o < OP_COUNT; o++) {
		long expect[F_COUNT];
		target_fn = -1;
		scenario((enum op)o);              /* warm-up */
		scenario((enum op)o);              /* dry run: count the calls */
		memcpy(expect, calls, sizeof expect);
		for (int f = 0; f < F_COUNT; f++)
			for (long n = 1; n <= expect[f]; n++) {
				target_fn = f;
				target_n = n;
				scenario((enum op)o);
			}
	}
	target_fn = -1;
	CHECK(problems == prob0, "%s: %ld faults injected, %ld problems", name, injected - inj0, problems - prob0);
}

int main(void)
{
	const char *v = getenv("T_FAULTS_VERBOSE");
	verbose = v == NULL || atoi(v) != 0;
	snprintf(dir, sizeof dir, "/tmp/t_faults.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		printf("cannot create a temporary directory\n");
		return 1;
	}
	setenv("LIBUSDT_DIR", dir, 1);
	/* a device double that is present but whose open fails must not stop
	 * enable; check the base case of the double first */
	usdt_dof_set_device_ops(&fake_dev);
	CHECK(usdt_dof_device_present(USDT_DOF_LINUX) == 1, "the fake DTrace helper device is present");
	usdt_dof_set_device_ops(NULL);

	/* A thread's error-message buffer is allocated at its first error and
	 * kept until the thread exits (src/error.c): have it before the first
	 * heap snapshot. */
	(void)usdt_provider_enable(NULL);
	/* usdt_probe_t objects live in type-stable memory that is never freed
	 * (src/probe_pool.h) and reused only once more than
	 * USDT_PROBE_REUSE_DELAY have been freed: bring the pool to that steady
	 * state, and give this thread its reader slot, before any snapshot. */
	for (int i = 0; i < USDT_PROBE_REUSE_DELAY + USDT_PROBE_POOL_CHUNK; i++)
		usdt_probe_release(usdt_create_probe("f", "warm", 0, NULL));
	usdt_fire_probe(NULL, 0, NULL);
	{
		usdt_provider_t *w = usdt_create_provider("warm", "m");
		usdt_probedef_t *wd = usdt_create_probe("f", "w", 0, NULL);
		usdt_provider_add_probe(w, wd);
		usdt_provider_enable(w);
		usdt_fire_probe(wd->probe, 0, NULL);
		usdt_probe_release(wd);
		usdt_provider_free(w);
	}
	flush_quarantine();
	run_pass("map", NULL, 0);
	struct dof_stub_info stubs;
	usdt_dof_arch_info(&stubs);        /* no DTrace stubs: no DTrace passes */
	if (stubs.has_code)
		run_pass("map+dtrace", NULL, 1);
	run_pass("memfd", "memfd,file", 0);
	if (stubs.has_code)
		run_pass("memfd+dtrace", "memfd,file", 1);
	run_pass("file", "file", 0);
	if (stubs.has_code)
		run_pass("file+dtrace", "file", 1);

	printf("# faults injected per function:");
	for (int f = 0; f < F_COUNT; f++)
		printf(" %s %ld", fn_name[f], per_fn[f]);
	printf("\n# distinct results (function, first operation, message):\n");
	for (int i = 0; i < nmsgs; i++)
		printf("#   %-20s %-22s %s\n", msgs[i].fn, msgs[i].op, msgs[i].msg);
	CHECK(injected > 0, "%ld faults injected in all, %ld calls failed cleanly, %ld absorbed (%ld by the memfd -> file fallback)",
	      injected, injected - succeeded_anyway, succeeded_anyway, fallbacks);
	CHECK(memfd_fallbacks > 0, "memfd_create refused: the file strategy took over (%ld times; %ld fallbacks "
	      "after any memfd-path fault)", memfd_fallbacks, fallbacks);
	CHECK(problems == 0, "%ld problems in all", problems);
	rmdir(dir);
	return check_done();
}
