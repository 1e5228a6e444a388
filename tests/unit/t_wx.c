/*
 * t_wx.c — W^X and sealing: no mapping of the process is ever writable and
 * executable at once while providers are enabled, rebuilt and disabled,
 * and the memfd behind an executable libusdt mapping is always sealed.
 *
 * A watcher thread reads /proc/self/maps in a loop while the main thread
 * runs enable / add_probe / remove_probe / disable cycles with the memfd
 * and the file loader, each without and with a (fake) DTrace helper device
 * (usdt_dof_set_device_ops), which adds the DOF document's memfd mapping
 * and the DTrace stubs. For every line the watcher requires "w" and "x"
 * not both set; for every executable mapping of "/memfd:libusdt:..." it
 * finds the fd with that inode in /proc/self/fd and requires F_GET_SEALS
 * to show write, grow, shrink and seal seals (an fd already closed by a
 * concurrent disable is skipped; its inode no longer matches). The main
 * thread also checks the seals itself after every enable.
 * T_WX_CYCLES sets the cycles per configuration (default 2000).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dof/dof.h"
#include "dof/dof_format.h"
#include "usdt.h"

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static atomic_int stop;
static atomic_long scans, wx_found, exec_memfd_seen, seals_checked, unsealed;
static char wx_line[512], unsealed_what[512];

/* Seals of the fd whose file has inode `ino`, or -1 if no fd has it. */
static int seals_of_inode(unsigned long ino)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int seals = -1;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%.20s", e->d_name);
		ssize_t len = readlink(path, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "/memfd:libusdt:", 15) != 0)
			continue;
		/* our own descriptor of the same file: libusdt's fd may be closed
		 * and reused at any moment (seals belong to the file) */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0)
			continue;
		int s = fcntl(fd, F_GET_SEALS);
		if (fstat(fd, &st) == 0 && st.st_ino == ino && s >= 0)
			seals = s;
		close(fd);
		if (seals >= 0)
			break;
	}
	closedir(d);
	return seals;
}

static void *watcher(void *arg)
{
	(void)arg;
	char line[512];
	while (!atomic_load(&stop)) {
		FILE *f = fopen("/proc/self/maps", "r");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL) {
			char perms[8] = "";
			unsigned long ino = 0;
			if (sscanf(line, "%*x-%*x %7s %*x %*s %lu", perms, &ino) != 2)
				continue;
			if (perms[1] == 'w' && perms[2] == 'x') {
				if (atomic_fetch_add(&wx_found, 1) == 0)
					snprintf(wx_line, sizeof wx_line, "%.*s", (int)strcspn(line, "\n"), line);
			}
			if (perms[2] == 'x' && strstr(line, "/memfd:libusdt:") != NULL) {
				atomic_fetch_add(&exec_memfd_seen, 1);
				int s = seals_of_inode(ino);
				if (s < 0)
					continue;           /* closed by a concurrent disable */
				atomic_fetch_add(&seals_checked, 1);
				if ((s & ALL_SEALS) != ALL_SEALS && atomic_fetch_add(&unsealed, 1) == 0)
					snprintf(unsealed_what, sizeof unsealed_what, "seals 0x%x: %.400s", s, line);
			}
		}
		fclose(f);
		atomic_fetch_add(&scans, 1);
	}
	return NULL;
}

/* the fake helper device */
static int d_open(void *ctx, const char *path, int flags)
{
	(void)ctx; (void)flags;
	if (strcmp(path, "/dev/dtrace/helper") != 0) {
		errno = ENOENT;
		return -1;
	}
	return 4242;
}

static int d_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	static int gen;
	(void)ctx; (void)fd; (void)arg;
	return request == USDT_DOF_LINUX_ADDDOF ? ++gen : 0;
}

static int d_close(void *ctx, int fd)
{
	(void)ctx; (void)fd;
	return 0;
}

static const struct usdt_dof_device_ops fake_dev = { d_open, d_ioctl, d_close, NULL };

/* Main-thread check: every libusdt ELF memfd of this process is sealed. */
static int main_thread_seals(int *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int bad = 0;
	*n = 0;
	while ((e = readdir(d)) != NULL) {
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%.20s", e->d_name);
		ssize_t len = readlink(path, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "/memfd:libusdt", 14) != 0)   /* the ELF object and the DOF document */
			continue;
		/* Our own descriptor of the file, checked again after opening: the
		 * watcher thread's short-lived descriptors show up here too, and
		 * their numbers can be reused between readlink() and open(). */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char again[64], target2[256];
		snprintf(again, sizeof again, "/proc/self/fd/%d", fd);
		len = readlink(again, target2, sizeof target2 - 1);
		if (len <= 0 || (target2[len] = '\0', strcmp(target, target2) != 0)) {
			close(fd);
			continue;
		}
		(*n)++;
		int s = fcntl(fd, F_GET_SEALS);
		close(fd);
		bad += s < 0 || (s & ALL_SEALS) != ALL_SEALS;
	}
	closedir(d);
	return bad;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	return v != NULL && *v ? atol(v) : def;
}

int main(void)
{
	long cycles = env_long("T_WX_CYCLES", 2000);
	char dir[] = "/tmp/t_wx.XXXXXX";
	const char *t2[] = { "int", "char *" };
	if (mkdtemp(dir) == NULL) {
		printf("mkdtemp failed\n");
		return 1;
	}
	setenv("LIBUSDT_DIR", dir, 1);
	usdt_provider_t *p = usdt_create_provider("wx", "wxmod");
	usdt_probedef_t *a = usdt_create_probe("f", "a", 2, t2), *b = usdt_create_probe("f", "b", 0, NULL);
	usdt_provider_add_probe(p, a);
	pthread_t th;
	pthread_create(&th, NULL, watcher, NULL);
	/* the watcher sees a writable and executable mapping when there is one */
	void *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rwx != MAP_FAILED) {
		for (int i = 0; i < 5000 && atomic_load(&wx_found) == 0; i++)
			usleep(1000);
		CHECK(atomic_load(&wx_found) > 0, "the watcher detects a deliberate RWX mapping");
		munmap(rwx, 4096);
		long s0 = atomic_load(&scans);
		while (atomic_load(&scans) < s0 + 2)
			usleep(1000);
		atomic_store(&wx_found, 0);
	}
	static const struct { const char *name; const char *loader; int dtrace; } configs[] = {
		{ "memfd", "memfd", 0 }, { "memfd+dtrace", "memfd", 1 }, { "file", "file", 0 }, { "file+dtrace", "file", 1 },
	};
	struct dof_stub_info stubs;
	usdt_dof_arch_info(&stubs);        /* no DTrace stubs: no DTrace configs */
	for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
		if (configs[c].dtrace && !stubs.has_code)
			continue;
		setenv("LIBUSDT_LOADER", configs[c].loader, 1);
		usdt_dof_set_device_ops(configs[c].dtrace ? &fake_dev : NULL);
		long failures = 0, bad_seals = 0, memfds = 0, scans0 = atomic_load(&scans);
		for (long i = 0; i < cycles; i++) {
			int n;
			failures += usdt_provider_enable(p) != 0;
			bad_seals += main_thread_seals(&n);
			memfds += n;
			if (i % 8 == 0) {                 /* rebuilds */
				failures += usdt_provider_add_probe(p, b) != 0;
				failures += usdt_provider_remove_probe(p, b) != 0;
			}
			void *argv[2] = { (void *)1, (void *)"x" };
			usdt_fire_probe(a->probe, 2, argv);
			failures += usdt_provider_disable(p) != 0;
		}
		CHECK(failures == 0, "%s: %ld enable/rebuild/disable cycles, %ld watcher scans, %ld failures",
		      configs[c].name, cycles, atomic_load(&scans) - scans0, failures);
		if (strcmp(configs[c].loader, "memfd") == 0)
			CHECK(bad_seals == 0 && memfds >= cycles * (1 + configs[c].dtrace),
			      "%s: every libusdt memfd is sealed after enable (%ld checked, %ld unsealed)", configs[c].name,
			      memfds, bad_seals);
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	long wx = atomic_load(&wx_found);
	CHECK(wx == 0, "no mapping writable and executable in %ld scans of /proc/self/maps%s%s",
	      atomic_load(&scans), wx ? ": " : "", wx ? wx_line : "");
	CHECK(atomic_load(&seals_checked) > 0 && atomic_load(&unsealed) == 0,
	      "the memfd behind each executable libusdt mapping is sealed (%ld mappings seen, %ld seal checks) %s",
	      atomic_load(&exec_memfd_seen), atomic_load(&seals_checked), unsealed_what);
	usdt_provider_free(p);
	usdt_probe_release(a);
	usdt_probe_release(b);
	rmdir(dir);
	return check_done();
}
