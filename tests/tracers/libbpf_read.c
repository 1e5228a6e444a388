/*
 * libbpf_read.c — read every argument of every probe of a running libusdt
 * test target with libbpf's USDT support (bpf_program__attach_usdt and
 * <bpf/usdt.bpf.h>), the reader the Linux kernel's own tools and most
 * libbpf-based tracers use. It has its own strict argument-spec parser
 * (sscanf patterns per architecture), so it is a separate oracle from bcc
 * (bpftrace 0.17) and GDB.
 *
 * usage: libbpf_read PID BPF_OBJECT SPEC...
 *   SPEC = provider:probe[:type,type,...]  (the target's argument, as
 *   tests/progs/target.c and tests/tracers/specs.sh write it)
 * Finds each provider's object as /proc/PID/fd/N (the memfd whose link is
 * "/memfd:libusdt:<provider> ..."), attaches tests/tracers/libbpf_read.bpf.c
 * to each probe with the probe's index as the cookie, waits (20 s at most)
 * until every probe was hit once, and prints "GOT provider:probe v..."
 * lines: integers as the 64-bit hex value bpf_usdt_arg() gives, strings in
 * double quotes (the format of the target's EXPECT lines). Exit 0 if every
 * probe was seen, 1 otherwise.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_PROBES 64
#define NARGS 12
#define STRLEN 32

struct ev {
	uint32_t seen;
	int32_t argc;
	uint64_t v[NARGS];
	char s[NARGS][STRLEN];
};

struct spec {
	char provider[64], probe[64];
	uint64_t strmask;
	char path[320];
};

static int find_object(int pid, const char *provider, char *path, size_t len)
{
	char dir[64], link[256], want[128];
	snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
	snprintf(want, sizeof want, "/memfd:libusdt:%.63s", provider);
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;
	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		char p[320];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		ssize_t n = readlink(p, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		size_t w = strlen(want);
		if (strncmp(link, want, w) == 0 && (link[w] == ' ' || link[w] == '\0')) {
			snprintf(path, len, "%s", p);
			found = 1;
		}
	}
	if (d != NULL)
		closedir(d);
	return found ? 0 : -1;
}

static int parse_spec(const char *arg, struct spec *s)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", arg);
	char *prov = buf, *probe = strchr(buf, ':'), *types = NULL;
	if (probe == NULL)
		return -1;
	*probe++ = '\0';
	if ((types = strchr(probe, ':')) != NULL)
		*types++ = '\0';
	snprintf(s->provider, sizeof s->provider, "%.63s", prov);
	snprintf(s->probe, sizeof s->probe, "%.63s", probe);
	s->strmask = 0;
	if (types != NULL && strcmp(types, "-") != 0) {
		int i = 0;
		for (char *t = strtok(types, ","); t != NULL; t = strtok(NULL, ","), i++)
			if (strstr(t, "char *") != NULL || strcmp(t, "json") == 0)
				s->strmask |= 1ull << i;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: libbpf_read PID BPF_OBJECT SPEC...\n");
		return 2;
	}
	int pid = atoi(argv[1]), n = argc - 3;
	if (n > MAX_PROBES)
		n = MAX_PROBES;
	struct spec specs[MAX_PROBES];
	for (int i = 0; i < n; i++) {
		if (parse_spec(argv[3 + i], &specs[i]) != 0 ||
		    find_object(pid, specs[i].provider, specs[i].path, sizeof specs[i].path) != 0) {
			fprintf(stderr, "libbpf_read: no object for %s in /proc/%d/fd\n", argv[3 + i], pid);
			return 1;
		}
	}
	struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
	if (obj == NULL || bpf_object__load(obj) != 0) {
		fprintf(stderr, "libbpf_read: cannot open/load %s\n", argv[2]);
		return 1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "read_args");
	int evs = bpf_object__find_map_fd_by_name(obj, "evs"), masks = bpf_object__find_map_fd_by_name(obj, "strmask");
	if (prog == NULL || evs < 0 || masks < 0) {
		fprintf(stderr, "libbpf_read: program or maps missing\n");
		return 1;
	}
	struct bpf_link *links[MAX_PROBES] = { 0 };
	for (int i = 0; i < n; i++) {
		uint32_t key = (uint32_t)i;
		bpf_map_update_elem(masks, &key, &specs[i].strmask, BPF_ANY);
		LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = (uint64_t)i);
		links[i] = bpf_program__attach_usdt(prog, pid, specs[i].path, specs[i].provider, specs[i].probe, &opts);
		if (links[i] == NULL) {
			fprintf(stderr, "libbpf_read: attach %s:%s in %s failed\n", specs[i].provider, specs[i].probe,
			        specs[i].path);
			return 1;
		}
	}
	fprintf(stderr, "libbpf_read: attached to %d probes\n", n);
	struct ev e[MAX_PROBES];
	time_t t0 = time(NULL);
	int seen = 0;
	while (seen < n && time(NULL) - t0 < 20) {
		usleep(50000);
		seen = 0;
		for (int i = 0; i < n; i++) {
			uint32_t key = (uint32_t)i;
			if (bpf_map_lookup_elem(evs, &key, &e[i]) == 0 && e[i].seen)
				seen++;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!e[i].seen) {
			printf("MISSING %s:%s\n", specs[i].provider, specs[i].probe);
			continue;
		}
		printf("GOT %s:%s", specs[i].provider, specs[i].probe);
		for (int a = 0; a < e[i].argc && a < NARGS; a++) {
			if (specs[i].strmask & (1ull << a))
				printf(" \"%.*s\"", STRLEN, e[i].s[a]);
			else
				printf(" %llx", (unsigned long long)e[i].v[a]);
		}
		printf("\n");
	}
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return seen == n ? 0 : 1;
}
