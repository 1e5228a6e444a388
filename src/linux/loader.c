/*
 * loader.c — load a runtime ELF object so that every tracer can find it.
 *
 * Measured on Linux 6.18 with bpftrace 0.17, bcc 0.26, gdb 13 and perf 6.1
 * (docs/loading.md has the matrix), what decides visibility is the name
 * under which the object is mapped and whether that name can be opened by
 * another process:
 *
 *   memfd (default)  memfd_create + write + seal, then
 *                    dlopen("/proc/<pid>/fd/<N>") with the fd kept open.
 *                    bcc/bpftrace map the "/memfd:..." mapping back to
 *                    /proc/PID/fd/N by inode; gdb opens the link-map name,
 *                    which must name our pid (with /proc/self gdb would
 *                    open its own fd N and hang). Nothing is ever on disk,
 *                    so nothing is left after SIGKILL. Only `perf probe -x`
 *                    cannot use it (it realpath()s the name); `perf record`
 *                    on a tracefs uprobe event works.
 *   file             a file in $LIBUSDT_DIR, $XDG_RUNTIME_DIR or /dev/shm,
 *                    named libusdt-<pid>-<provider>-<n>.so, dlopen()ed by
 *                    path and unlinked at unload. Every tracer including
 *                    perf probe sees it; a SIGKILL leaves the file, which the
 *                    next process to use this strategy removes (its pid is
 *                    dead). Used when memfd is not available (seccomp,
 *                    kernels < 3.17) or when asked for.
 *
 * The memfd is created with MFD_NOEXEC_SEAL where the kernel knows it
 * (6.3+): with vm.memfd_noexec=2 MFD_EXEC is refused, but mapping with
 * PROT_EXEC is not an execve and still works. It is sealed (no write, grow
 * or shrink, no further seals) before it is mapped executable, so nobody
 * can change the code after the fact. dlopen maps it MAP_PRIVATE; the
 * kernel's uprobe and reference-counter writes go to private copies.
 *
 * LIBUSDT_LOADER (read with secure_getenv) is a comma-separated list of
 * strategies to try in order: "memfd", "file". Default "memfd,file".
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fork.h"
#include "linux/loader.h"
#include "usdt_internal.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

#define FILE_PREFIX "libusdt-"
#define DEFAULT_STRATEGIES "memfd,file"

static unsigned long load_counter;

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int finish_dlopen(struct usdt_loaded *out, char *err)
{
	out->handle = dlopen(out->path, RTLD_NOW | RTLD_LOCAL);
	if (out->handle == NULL) {
		const char *e = dlerror();
		return usdt_errf(err, "dlopen(%s): %s", out->path, e ? e : "unknown error");
	}
	struct link_map *lm = NULL;
	if (dlinfo(out->handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) {
		const char *e = dlerror();
		usdt_errf(err, "dlinfo(%s): %s", out->path, e ? e : "no link map");
		dlclose(out->handle);
		out->handle = NULL;
		return -1;
	}
	out->base = (uintptr_t)lm->l_addr;
	return 0;
}

int usdt_memfd_create(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	if (fd < 0 && errno == EINVAL)      /* kernel < 6.3: no MFD_NOEXEC_SEAL */
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd;
}

int usdt_memfd_seal(int fd)
{
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
}

static int load_memfd(const uint8_t *image, size_t size, const char *tag, struct usdt_loaded *out, char *err)
{
	char name[96];
	snprintf(name, sizeof name, "libusdt:%s", tag);
	int fd = usdt_memfd_create(name);
	if (fd < 0)
		return usdt_errf(err, "memfd_create: %s", strerror(errno));
	if (write_all(fd, image, size) != 0) {
		usdt_errf(err, "write to memfd: %s", strerror(errno));
		goto fail;
	}
	if (usdt_memfd_seal(fd) != 0) {
		usdt_errf(err, "sealing the memfd: %s", strerror(errno));
		goto fail;
	}
	out->fd = fd;
	out->file[0] = '\0';
	snprintf(out->path, sizeof out->path, "/proc/%ld/fd/%d", (long)getpid(), fd);
	if (finish_dlopen(out, err) == 0)
		return 0;
fail:
	close(fd);
	out->fd = -1;
	return -1;
}

/* Remove files left by processes that were killed before they could. */
static void sweep_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long pid;
		if (strncmp(e->d_name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0)
			continue;
		if (sscanf(e->d_name + strlen(FILE_PREFIX), "%ld-", &pid) != 1 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static int load_file_in(const char *dir, const uint8_t *image, size_t size, const char *tag,
                        struct usdt_loaded *out, char *err)
{
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return usdt_errf(err, "%s: not a directory", dir);
	sweep_stale(dir);
	int n = snprintf(out->file, sizeof out->file, "%s/" FILE_PREFIX "%ld-%s-%lu.so", dir, (long)getpid(),
	                 tag, __atomic_add_fetch(&load_counter, 1, __ATOMIC_RELAXED));
	if (n < 0 || (size_t)n >= sizeof out->file)
		return usdt_errf(err, "%s: path too long", dir);
	int fd = open(out->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0500);
	if (fd < 0) {
		usdt_errf(err, "open(%s): %s", out->file, strerror(errno));
		out->file[0] = '\0';
		return -1;
	}
	if (write_all(fd, image, size) != 0) {
		usdt_errf(err, "write(%s): %s", out->file, strerror(errno));
		goto fail;
	}
	out->fd = fd;
	snprintf(out->path, sizeof out->path, "%s", out->file);
	if (finish_dlopen(out, err) == 0)
		return 0;
fail:
	close(fd);
	unlink(out->file);
	out->file[0] = '\0';
	out->fd = -1;
	return -1;
}

static int load_file(const uint8_t *image, size_t size, const char *tag, struct usdt_loaded *out, char *err)
{
	const char *dirs[3];
	size_t ndirs = 0;
	const char *env = secure_getenv("LIBUSDT_DIR");
	if (env != NULL && env[0] != '\0')
		dirs[ndirs++] = env;
	else {
		env = secure_getenv("XDG_RUNTIME_DIR");
		if (env != NULL && env[0] != '\0')
			dirs[ndirs++] = env;
		dirs[ndirs++] = "/dev/shm";
	}
	size_t used = 0;
	char one[USDT_ERRMSG_MAX];
	err[0] = '\0';
	for (size_t i = 0; i < ndirs; i++) {
		if (load_file_in(dirs[i], image, size, tag, out, one) == 0)
			return 0;
		int w = snprintf(err + used, USDT_ERRMSG_MAX - used, "%s%s", used ? "; " : "", one);
		if (w > 0 && used + (size_t)w < USDT_ERRMSG_MAX)
			used += (size_t)w;
	}
	return -1;
}

int usdt_load(const uint8_t *image, size_t size, const char *tag, struct usdt_loaded *out, char *err)
{
	const char *list = secure_getenv("LIBUSDT_LOADER");
	char buf[64], one[USDT_ERRMSG_MAX];
	size_t used = 0;
	if (list == NULL || list[0] == '\0')
		list = DEFAULT_STRATEGIES;
	snprintf(buf, sizeof buf, "%s", list);
	memset(out, 0, sizeof *out);
	out->fd = -1;
	err[0] = '\0';
	char *save = NULL;
	int tried = 0;
	for (char *s = strtok_r(buf, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
		int rc;
		if (strcmp(s, "memfd") == 0) {
			rc = load_memfd(image, size, tag, out, one);
			out->strategy = USDT_LOAD_MEMFD;
		} else if (strcmp(s, "file") == 0) {
			rc = load_file(image, size, tag, out, one);
			out->strategy = USDT_LOAD_FILE;
		} else {
			rc = usdt_errf(one, "unknown strategy \"%s\" in LIBUSDT_LOADER", s);
		}
		tried++;
		if (rc == 0)
			return 0;
		int w = snprintf(err + used, USDT_ERRMSG_MAX - used, "%s%s: %s", used ? "; " : "", s, one);
		if (w > 0 && used + (size_t)w < USDT_ERRMSG_MAX)
			used += (size_t)w;
	}
	if (!tried)
		usdt_errf(err, "LIBUSDT_LOADER names no strategy");
	return -1;
}

int usdt_unload(struct usdt_loaded *obj, char *err)
{
	int rc = 0;
	if (obj->handle != NULL && dlclose(obj->handle) != 0) {
		const char *e = dlerror();
		rc = usdt_errf(err, "dlclose(%s): %s", obj->path, e ? e : "unknown error");
	}
	obj->handle = NULL;
	if (obj->fd >= 0)
		close(obj->fd);
	obj->fd = -1;
	if (obj->file[0] != '\0')
		unlink(obj->file);
	obj->file[0] = '\0';
	return rc;
}

/* fork(): see fork.h. (Nothing to repair yet.) */
void usdt_loader_fork_child(void)
{
}
