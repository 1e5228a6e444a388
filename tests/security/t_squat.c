/*
 * t_squat.c — another user squatting object names in a shared directory
 * such as /dev/shm (issue 9, item 6), and the stale-file sweep.
 *
 * Runs as root; the squatter is a child that switched to uid 65534. The
 * directory is a root-owned sticky world-writable one (like /dev/shm).
 *  1. The squatter plants a symlink under every name the old scheme would
 *     use for this process (libusdt-<pid>-sq-<n>.so, n = 1..SQUAT_NAMES):
 *     enable must still work, and the object's name must carry the pid
 *     and an unpredictable suffix (two loads, two unrelated suffixes).
 *  2. The sweep that removes files of dead processes: a dead pid's regular
 *     file of ours is removed; the dead pid's names owned by uid 65534 (a
 *     regular file and a symlink) and a symlink of ours are left alone
 *     (never remove another user's file, never act on a symlink).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "usdt.h"

#define NOBODY 65534
#define SQUAT_NAMES 64          /* names of the old scheme planted */
#define MIN_RANDOM_CHARS 8      /* an unpredictable suffix is at least this long */

static char dir[] = "/tmp/usdt-squat.XXXXXX";

static void as_nobody(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
			_exit(3);
		fn(arg);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static void plant_symlinks(void *arg)
{
	long victim = *(long *)arg;
	for (int n = 1; n <= SQUAT_NAMES; n++) {
		char path[512];
		snprintf(path, sizeof path, "%s/libusdt-%ld-sq-%d.so", dir, victim, n);
		if (symlink("/nonexistent/squatted", path) != 0)
			_exit(4);
	}
}

static long dead_pid;

static void plant_dead_names(void *arg)
{
	(void)arg;
	char path[512];
	snprintf(path, sizeof path, "%s/libusdt-%ld-theirs-1.so", dir, dead_pid);
	close(open(path, O_WRONLY | O_CREAT | O_EXCL, 0644));
	snprintf(path, sizeof path, "%s/libusdt-%ld-theirlink-1.so", dir, dead_pid);
	symlink("/etc/hostname", path);
}

static int exists(const char *name)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* The name of this process's object in dir (the only libusdt-<pid>-sq-
 * file that is a regular file), copied into out. */
static int our_object(char *out, size_t size)
{
	char prefix[64];
	snprintf(prefix, sizeof prefix, "libusdt-%ld-sq-", (long)getpid());
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		struct stat st;
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(out, size, "%s", e->d_name);
		found++;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* Characters between "libusdt-<pid>-sq-" and ".so". */
static const char *suffix_of(const char *name, char *buf, size_t size)
{
	const char *s = name + strlen(name);
	const char *p = strstr(name, "-sq-");
	buf[0] = '\0';
	if (p == NULL || s - p < 7)
		return buf;
	p += 4;
	size_t n = (size_t)(s - 3 - p);
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static int looks_random(const char *s)
{
	size_t n = strlen(s), digits = 0;
	for (size_t i = 0; i < n; i++)
		digits += isdigit((unsigned char)s[i]) != 0;
	return n >= MIN_RANDOM_CHARS && digits < n;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: needs root (the squatter is uid %d)\n", NOBODY);
		return 77;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 01777) != 0) {
		printf("cannot make %s\n", dir);
		return 1;
	}
	setenv("LIBUSDT_LOADER", "file", 1);
	setenv("LIBUSDT_DIR", dir, 1);

	/* 1. squatted names */
	long me = (long)getpid();
	as_nobody(plant_symlinks, &me);
	char probe_path[512];
	snprintf(probe_path, sizeof probe_path, "libusdt-%ld-sq-1.so", me);
	CHECK(exists(probe_path), "uid %d planted %d symlinks under the names libusdt-%ld-sq-<n>.so", NOBODY, SQUAT_NAMES, me);

	usdt_provider_t *p = usdt_create_provider("sq", "m");
	usdt_probedef_t *pd = usdt_create_probe("f", "p", 0, NULL);
	usdt_provider_add_probe(p, pd);
	int rc = usdt_provider_enable(p);
	CHECK(rc == 0, "enable works despite the squatted names (%s)", rc ? usdt_errstr(p) : "ok");
	char first[256] = "", second[256] = "", s1[64], s2[64];
	CHECK(our_object(first, sizeof first) == 1, "our object is %s", first);
	suffix_of(first, s1, sizeof s1);
	CHECK(looks_random(s1), "its name keeps the pid and ends in an unpredictable suffix \"%s\"", s1);
	usdt_provider_disable(p);
	CHECK(!exists(first), "disable removed %s", first);
	rc = usdt_provider_enable(p);
	CHECK(rc == 0 && our_object(second, sizeof second) == 1, "enabled again as %s", second);
	suffix_of(second, s2, sizeof s2);
	CHECK(strcmp(s1, s2) != 0 && looks_random(s2), "the second suffix \"%s\" differs from the first \"%s\"", s2, s1);
	usdt_provider_disable(p);

	/* 2. the sweep */
	pid_t z = fork();
	if (z == 0)
		_exit(0);
	waitpid(z, NULL, 0);
	dead_pid = (long)z;                 /* a pid nobody has any more */
	as_nobody(plant_dead_names, NULL);
	char ours[128], ourlink[128], theirs[128], theirlink[128], path[512];
	snprintf(ours, sizeof ours, "libusdt-%ld-mine-1.so", dead_pid);
	snprintf(ourlink, sizeof ourlink, "libusdt-%ld-minelink-1.so", dead_pid);
	snprintf(theirs, sizeof theirs, "libusdt-%ld-theirs-1.so", dead_pid);
	snprintf(theirlink, sizeof theirlink, "libusdt-%ld-theirlink-1.so", dead_pid);
	snprintf(path, sizeof path, "%s/%s", dir, ours);
	close(open(path, O_WRONLY | O_CREAT | O_EXCL, 0500));
	snprintf(path, sizeof path, "%s/%s", dir, ourlink);
	CHECK(symlink("/etc/hostname", path) == 0, "planted a symlink of ours for the dead pid %ld", dead_pid);
	CHECK(exists(ours) && exists(theirs) && exists(theirlink), "dead pid %ld: our file, uid %d's file and symlink exist",
	      dead_pid, NOBODY);
	rc = usdt_provider_enable(p);           /* sweeps */
	CHECK(rc == 0, "enable (which sweeps the directory) works");
	CHECK(!exists(ours), "the sweep removed our stale regular file");
	CHECK(exists(theirs), "the sweep left uid %d's regular file alone", NOBODY);
	CHECK(exists(theirlink), "the sweep left uid %d's symlink alone", NOBODY);
	CHECK(exists(ourlink), "the sweep left a symlink alone");
	usdt_provider_free(p);
	usdt_probe_release(pd);

	/* clean up as root */
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return check_done();
}
