/*
 * proc_count.h — what a process holds, counted for the tests' leak checks:
 * open descriptors (all, or those whose /proc/self/fd link contains a
 * string), lines of /proc/self/maps (all, or containing a string), and
 * entries of a directory starting with a prefix. Each returns -1 if the
 * /proc file or directory cannot be read. UNDER_SANITIZER says whether
 * the test runs under ASan or TSan.
 */
#ifndef TEST_PROC_COUNT_H
#define TEST_PROC_COUNT_H
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Under a sanitizer the runtime maps and unmaps memory of its own: leak
 * checks then compare only the mappings that name libusdt. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

/* Descriptors whose link target contains `needle` (NULL: all of them). */
static inline int count_fds_linking(const char *needle)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[64], target[256];
	int n = 0;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (needle == NULL) {
			n++;
			continue;
		}
		snprintf(path, sizeof path, "/proc/self/fd/%.20s", e->d_name);
		ssize_t len = readlink(path, target, sizeof target - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strstr(target, needle) != NULL;
		}
	}
	closedir(d);
	return n;
}

/* Lines of /proc/self/maps containing `needle` (NULL: all lines). */
static inline int count_maps_lines(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int n = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		n += strchr(line, '\n') != NULL && (needle == NULL || strstr(line, needle) != NULL);
	fclose(f);
	return n;
}

/* Entries of `dir` whose name starts with `prefix`. */
static inline int count_dir_entries(const char *dir, const char *prefix)
{
	DIR *d;
	struct dirent *e;
	int n = 0;
	if (dir == NULL || (d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}
#endif
