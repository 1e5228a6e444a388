/*
 * lifecycle.c — cost of enabling, disabling and freeing providers, and the
 * memory they take.
 *
 *   1. One provider with 1, 10, 100, 1 000, 10 000 and 100 000 probes
 *      (2 "long" arguments each): wall time of usdt_provider_enable(),
 *      usdt_provider_disable() and usdt_provider_free() (of the disabled
 *      provider, which frees every definition: the creator's references are
 *      dropped first), median over the runs (SMALL_RUNS of them up to
 *      SMALL_MAX probes; free: one run at 100 000,
 *      see REBUILD_MAX); the time to create the provider and add the probes;
 *      resident memory (statm) and
 *      /proc/self/maps lines added by the enable, per probe.
 *   2. 1000 providers (one probe each) enabled one after the other in one
 *      process: enable time of the last ones against the first ones
 *      (median of providers 991-1000 over median of 1-10, per run, then the
 *      median of the runs), maps lines and resident memory per provider, and
 *      the largest hole in the address space next to a provider mapping.
 *   3. (full mode) 10 000 providers enabled at once: enable of the last ten
 *      against the first ten.
 * Targets (issue 13): enable of 1 probe <= 10 us, of 1000 <= 100 us,
 * linear to 100 000; disable <= 5 us; the 1000th provider <= 1.2x the
 * first, 10 000 providers <= 2x; <= 2 mappings per provider.
 *
 * `lifecycle --syscalls N` only enables and disables a one-probe provider
 * N times, with a getppid() before each enable and a getpgrp() before each
 * disable: bench/run.sh runs it under strace and counts the system calls
 * of each (what the figures above cost in kernel entries).
 *
 *   4. The floor: the image libusdt built for a one-probe provider, loaded
 *      again and again without libusdt (sealed memfd, dlopen of
 *      /proc/<pid>/fd/N, dlclose, close), interleaved with libusdt's own
 *      enable and disable of that provider: what the kernel and glibc charge
 *      for the loading mechanism, and libusdt's share above it. Also the
 *      same image mapped with two mmap()s instead of dlopen (the floor of a
 *      loader that maps objects itself, libusdt's default "map" strategy:
 *      src/linux/loader.c). Parts 2 and 3 time a plain dlopen
 *      of it next to their first and last ten enables: glibc's own growth
 *      with the number of objects loaded, in the same run.
 *
 * `lifecycle --providers N` enables N one-probe providers one after the
 * other and prints the median enable time of each hundred against the
 * number already loaded: bench/run.sh plots it for the default loader and
 * for LIBUSDT_LOADER=memfd (dlopen) into providers.png.
 *
 * BENCH_PLOT_DAT=path: also write "probes enable_us disable_us free_us"
 * lines for bench/run.sh's gnuplot plot. Smoke mode stops at 10 000 probes
 * and 200 providers.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "usdt.h"

static const char *const types2[2] = { "long", "long" };

/* Largest provider rebuilt for every run (see the size loop). */
#define REBUILD_MAX 10000
/* Runs of the sizes up to 1 000 probes (each is a fresh provider, well
 * under a millisecond): on a 2-vCPU VM one enable of 1 000 probes varies
 * from 80 to 130 us from one moment to the next (other tenants), so a
 * median of 7 moved by a third between runs. */
#define SMALL_RUNS 31
#define SMALL_MAX 1000

/* The floor (part 4): loads timed per run, and the memfd flags libusdt
 * uses (MFD_NOEXEC_SEAL is refused by kernels before 6.3). */
#define FLOOR_LOADS 400
#define FLOOR_SMOKE_LOADS 40
#define FLOOR_PROVIDER "lcfloor"
#define FLOOR_IMAGE_MAX (1 << 20)
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#define FLOOR_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

static long statm_resident_pages(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res;
}

static long maps_lines(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;
	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Largest gap (bytes) between two of our mappings ("libusdt:" in their
 * name) that are next to each other in the address space: what alignment
 * padding between provider objects would cost. */
static unsigned long max_gap_next_to_ours(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long prev_end = 0, max = 0;
	int prev_ours = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		int ours = strstr(line, "libusdt:") != NULL;
		if (ours && prev_ours && s - prev_end > max)
			max = s - prev_end;
		prev_end = e;
		prev_ours = ours;
	}
	fclose(f);
	return max;
}

static usdt_provider_t *make_provider(const char *name, size_t nprobes)
{
	usdt_provider_t *p = usdt_create_provider(name, "bench");
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < nprobes; i++) {
		char pname[32];
		snprintf(pname, sizeof pname, "p%zu", i);
		usdt_probedef_t *pd = usdt_create_probe("bench", pname, 2, (const char **)types2);
		if (pd == NULL || usdt_provider_add_probe(p, pd) != 0) {
			fprintf(stderr, "lifecycle: %s\n", usdt_last_errstr());
			exit(1);
		}
		usdt_probe_release(pd);      /* the provider holds the only reference */
	}
	return p;
}

static void fmt_probes(char *buf, size_t len, size_t n)
{
	if (n >= 1000)
		snprintf(buf, len, "%zu %03zu", n / 1000, n % 1000);
	else
		snprintf(buf, len, "%zu", n);
}

/* ---- part 4: the floor ---- */

struct image {
	uint8_t *bytes;
	size_t size;
	size_t rw_off, rw_size;      /* the R+W PT_LOAD, for the mmap floor */
};

/* A sealed memfd holding the image, as libusdt makes it; -1 on error. */
static int floor_memfd(const struct image *im)
{
	int fd = memfd_create("libusdt:" FLOOR_PROVIDER, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("libusdt:" FLOOR_PROVIDER, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	if (write(fd, im->bytes, im->size) != (ssize_t)im->size || fcntl(fd, F_ADD_SEALS, FLOOR_SEALS) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *floor_dlopen(int fd)
{
	char name[64];
	snprintf(name, sizeof name, "/proc/%ld/fd/%d", (long)getpid(), fd);
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		fprintf(stderr, "lifecycle: floor: dlopen(%s): %s\n", name, dlerror());
	return h;
}

/* Copy the object libusdt loaded for provider FLOOR_PROVIDER (enabled):
 * found among our descriptors by its memfd or file name. 0 or -1. */
static int grab_image(struct image *im)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int rc = -1;
	if (d == NULL)
		return -1;
	while (rc != 0 && (e = readdir(d)) != NULL) {
		char link[sizeof "/proc/self/fd/" + sizeof e->d_name], target[512];
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, FLOOR_PROVIDER) == NULL || strstr(target, "libusdt") == NULL)
			continue;
		int fd = atoi(e->d_name);
		struct stat st;
		if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > FLOOR_IMAGE_MAX)
			continue;
		im->size = (size_t)st.st_size;
		im->bytes = malloc(im->size);
		if (im->bytes != NULL && pread(fd, im->bytes, im->size, 0) == (ssize_t)im->size)
			rc = 0;
		else
			free(im->bytes);
	}
	closedir(d);
	if (rc != 0)
		return -1;
	/* the second PT_LOAD is the R+W one (elf_image.c) */
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)im->bytes;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(im->bytes + eh->e_phoff);
	int loads = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ++loads == 2) {
			im->rw_off = ph[i].p_offset;
			im->rw_size = ph[i].p_memsz;
		}
	return loads == 2 ? 0 : -1;
}

/* Size of the object of our enabled provider `name` (its memfd, found
 * among our descriptors), or 0. */
static size_t object_size(const char *name)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t size = 0;
	char want[64];
	snprintf(want, sizeof want, "memfd:libusdt:%s ", name);
	if (d == NULL)
		return 0;
	while (size == 0 && (e = readdir(d)) != NULL) {
		char link[sizeof "/proc/self/fd/" + sizeof e->d_name], target[512];
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof target - 2);
		struct stat st;
		if (n <= 0)
			continue;
		target[n] = ' ';             /* "/memfd:NAME (deleted)": match NAME whole */
		target[n + 1] = '\0';
		if (strstr(target, want) != NULL && fstat(atoi(e->d_name), &st) == 0 && st.st_size > 0)
			size = (size_t)st.st_size;
	}
	closedir(d);
	return size;
}

/* The kernel's part of the linear target: a fresh memfd filled with
 * `size` bytes (one write), then closed, as an enable and a disable do
 * with the object; median ns per run over `runs` runs. */
static double floor_memfd_write(size_t size, int runs)
{
	uint8_t *buf = malloc(size);
	double t[BENCH_MAX_RUNS];
	if (buf == NULL)
		return 0;
	memset(buf, 0x5a, size);
	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_ns();
		int fd = memfd_create("lcmemfd", MFD_CLOEXEC);
		if (fd < 0 || write(fd, buf, size) != (ssize_t)size) {
			free(buf);
			return 0;
		}
		close(fd);
		t[r] = bench_now_ns() - t0;
	}
	free(buf);
	return bench_median(t, runs);
}

/* The image of a one-probe provider FLOOR_PROVIDER, into *im. 0 or -1. */
static int floor_image(struct image *im)
{
	usdt_provider_t *p = make_provider(FLOOR_PROVIDER, 1);
	int rc = usdt_provider_enable(p) == 0 && grab_image(im) == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "lifecycle: floor: cannot read the image of %s\n", FLOOR_PROVIDER);
	usdt_provider_free(p);
	return rc;
}

/* A plain dlopen of a copy of the image, timed (us), then dlclose: what
 * glibc alone charges with the objects loaded now. -1 on error. */
static double floor_dlopen_once(const struct image *im)
{
	int fd = floor_memfd(im);
	if (fd < 0)
		return -1;
	double t0 = bench_now_ns();
	void *h = floor_dlopen(fd);
	double t = (bench_now_ns() - t0) / 1e3;
	if (h != NULL)
		dlclose(h);
	close(fd);
	return h != NULL ? t : -1;
}

/* Per run: the floor's steps, then libusdt's enable and disable of the
 * same provider; medians, and libusdt over the floor per run. */
static int floor_rows(const struct image *imp, int smoke)
{
	usdt_provider_t *p = make_provider(FLOOR_PROVIDER, 1);
	const struct image im = *imp;
	int n = smoke ? FLOOR_SMOKE_LOADS : FLOOR_LOADS;
	double *v = calloc(11 * (size_t)n, sizeof *v);
	double *mk = v, *op = v + n, *cl = v + 2 * n, *mm = v + 3 * n, *um = v + 4 * n, *en = v + 5 * n,
	       *dis = v + 6 * n, *ratio = v + 7 * n, *ratio_mm = v + 8 * n, *ratio_dis = v + 9 * n,
	       *ratio_um = v + 10 * n;
	if (v == NULL)
		return 1;
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < n; i++) {
		double t0 = bench_now_ns();
		int fd = floor_memfd(&im);
		double t1 = bench_now_ns();
		void *h = fd >= 0 ? floor_dlopen(fd) : NULL;
		double t2 = bench_now_ns();
		if (h == NULL)
			return 1;
		dlclose(h);
		close(fd);
		double t3 = bench_now_ns();
		fd = floor_memfd(&im);
		double t4 = bench_now_ns();
		uint8_t *m = mmap(NULL, im.rw_off + im.rw_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED || mmap(m + im.rw_off, im.rw_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
		                            (off_t)im.rw_off) == MAP_FAILED) {
			fprintf(stderr, "lifecycle: floor: mmap: %s\n", strerror(errno));
			return 1;
		}
		(void)*(volatile uint8_t *)m;        /* dlopen reads the headers too */
		double t5 = bench_now_ns();
		munmap(m, (im.rw_off + im.rw_size + (size_t)page - 1) & ~((size_t)page - 1));
		close(fd);
		double t6 = bench_now_ns();
		if (usdt_provider_enable(p) != 0)
			return 1;
		double t7 = bench_now_ns();
		usdt_provider_disable(p);
		double t8 = bench_now_ns();
		mk[i] = (t1 - t0) / 1e3;
		op[i] = (t2 - t1) / 1e3;
		cl[i] = (t3 - t2) / 1e3;
		mm[i] = (t5 - t4) / 1e3 + mk[i];
		um[i] = (t6 - t5) / 1e3;
		en[i] = (t7 - t6) / 1e3;
		dis[i] = (t8 - t7) / 1e3;
		ratio[i] = en[i] / (mk[i] + op[i]);
		ratio_mm[i] = en[i] / mm[i];
		ratio_dis[i] = dis[i] / cl[i];
		ratio_um[i] = dis[i] / um[i];
	}
	double floor_en = bench_median(mk, n) + bench_median(op, n);
	bench_row("lifecycle", "floor: memfd_create + write + seal", bench_median(mk, n), "us", -1, "", "", "");
	bench_row("lifecycle", "floor: + dlopen (= an enable without libusdt)", floor_en, "us", -1, "", "", "");
	bench_row("lifecycle", "floor: dlclose + close (= a disable)", bench_median(cl, n), "us", -1, "", "", "");
	bench_row("lifecycle", "floor: memfd, 2 mmaps instead of dlopen", bench_median(mm, n), "us", -1, "", "", "");
	bench_row("lifecycle", "floor: munmap + close", bench_median(um, n), "us", -1, "", "", "");
	bench_row("lifecycle", "enable, 1 probe, interleaved with the floor", bench_median(en, n), "us",
	          bench_median(ratio, n), "memfd + dlopen", "", "");
	bench_row("lifecycle", "enable, 1 probe / the floor of the map strategy", bench_median(en, n), "us",
	          bench_median(ratio_mm, n), "memfd + 2 mmaps", "", "");
	bench_row("lifecycle", "disable, 1 probe, interleaved with the floor", bench_median(dis, n), "us",
	          bench_median(ratio_dis, n), "dlclose + close", "", "");
	bench_row("lifecycle", "disable, 1 probe / the floor of the map strategy", bench_median(dis, n), "us",
	          bench_median(ratio_um, n), "munmap + close", "", "");
	usdt_provider_free(p);
	free(v);
	return 0;
}

/* nprov one-probe providers enabled one after the other: the last ten
 * against the first ten, mappings, memory and holes. After each of those
 * twenty enables, a plain dlopen (and dlclose) of the same image without
 * libusdt is timed too: glibc's own growth, same run, same objects. */
static int many_providers(int nprov, int runs, double target, const struct image *im)
{
	double first[BENCH_MAX_RUNS], last[BENCH_MAX_RUNS], ratio[BENCH_MAX_RUNS];
	double plain_first[BENCH_MAX_RUNS], plain_last[BENCH_MAX_RUNS], plain_ratio[BENCH_MAX_RUNS];
	double plain[2 * 10];
	double mapsper[BENCH_MAX_RUNS], rssper[BENCH_MAX_RUNS], gap[BENCH_MAX_RUNS];
	usdt_provider_t **provs = calloc((size_t)nprov, sizeof *provs);
	double *t = calloc((size_t)nprov, sizeof *t);
	if (provs == NULL || t == NULL)
		return 1;
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < nprov; i++) {
			char name[16];   /* lp + 4 letters */
			snprintf(name, sizeof name, "lp%c%c%c%c", 'a' + i / 17576 % 26, 'a' + i / 676 % 26,
			         'a' + i / 26 % 26, 'a' + i % 26);
			provs[i] = make_provider(name, 1);
		}
		long rss0 = statm_resident_pages(), maps0 = maps_lines();
		for (int i = 0; i < nprov; i++) {
			double t0 = bench_now_ns();
			if (usdt_provider_enable(provs[i]) != 0) {
				fprintf(stderr, "lifecycle: provider %d: %s\n", i, usdt_errstr(provs[i]));
				return 1;
			}
			t[i] = (bench_now_ns() - t0) / 1e3;
			if (i < 10 || i >= nprov - 10) {
				double *slot = &plain[i < 10 ? i : 10 + i - (nprov - 10)];
				if ((*slot = floor_dlopen_once(im)) < 0)
					return 1;
			}
		}
		mapsper[r] = (double)(maps_lines() - maps0) / nprov;
		rssper[r] = (double)(statm_resident_pages() - rss0) * (double)sysconf(_SC_PAGESIZE) / nprov;
		gap[r] = (double)max_gap_next_to_ours();
		first[r] = bench_median(t, 10);
		last[r] = bench_median(t + nprov - 10, 10);
		ratio[r] = last[r] / first[r];
		plain_first[r] = bench_median(plain, 10);
		plain_last[r] = bench_median(plain + 10, 10);
		plain_ratio[r] = plain_last[r] / plain_first[r];
		for (int i = 0; i < nprov; i++)
			usdt_provider_free(provs[i]);
	}
	char name[96], tg[32];
	snprintf(name, sizeof name, "enable of providers 1-10 of %d (one probe each)", nprov);
	bench_row("lifecycle", name, bench_median(first, runs), "us", -1, "", "", "");
	snprintf(name, sizeof name, "enable of providers %d-%d", nprov - 9, nprov);
	snprintf(tg, sizeof tg, "<= %.1fx", target);
	double rat = bench_median(ratio, runs);
	bench_row("lifecycle", name, bench_median(last, runs), "us", rat, "providers 1-10", tg,
	          bench_status(1, rat <= target));
	snprintf(name, sizeof name, "enable: cost per loaded object (%d)", nprov);
	bench_row("lifecycle", name, (bench_median(last, runs) - bench_median(first, runs)) * 1e3 / nprov, "ns", -1, "", "",
	          "");
	double pf = bench_median(plain_first, runs), pl = bench_median(plain_last, runs);
	snprintf(name, sizeof name, "floor: plain dlopen at providers %d-%d", nprov - 9, nprov);
	bench_row("lifecycle", name, pl, "us", bench_median(plain_ratio, runs), "at providers 1-10", "", "");
	snprintf(name, sizeof name, "floor: glibc's dlopen cost per loaded object (%d)", nprov);
	bench_row("lifecycle", name, (pl - pf) * 1e3 / nprov, "ns", -1, "", "", "");
	double mp = bench_median(mapsper, runs);
	snprintf(name, sizeof name, "maps lines per provider (%d)", nprov);
	bench_row("lifecycle", name, mp, "lines", -1, "", "<= 2", bench_status(1, mp <= 2));
	snprintf(name, sizeof name, "resident memory per provider (%d)", nprov);
	bench_row("lifecycle", name, bench_median(rssper, runs) / 1024, "KiB", -1, "", "", "");
	double g = bench_median(gap, runs) / 1024;
	snprintf(name, sizeof name, "largest hole between provider mappings (%d)", nprov);
	bench_row("lifecycle", name, g, "KiB", -1, "", "< 1 MiB", bench_status(1, g < 1024));
	free(provs);
	free(t);
	return 0;
}

/* --syscalls N: see the opening comment. */
static int syscall_loop(int n)
{
	usdt_provider_t *p = make_provider("lcsys", 1);
	if (p == NULL || usdt_provider_enable(p) != 0 || usdt_provider_disable(p) != 0)
		return 1;
	for (int i = 0; i < n; i++) {
		(void)getppid();
		if (usdt_provider_enable(p) != 0)
			return 1;
		(void)getpgrp();
		if (usdt_provider_disable(p) != 0)
			return 1;
	}
	(void)getppid();
	usdt_provider_free(p);
	return 0;
}

/* --providers N: N one-probe providers enabled one after the other; for
 * every PROVIDERS_BUCKET of them, "<providers already loaded> <median
 * enable us>" on stdout (bench/run.sh plots it, once per loader). */
#define PROVIDERS_BUCKET 100
static int providers_curve(int n)
{
	usdt_provider_t **provs = calloc((size_t)n, sizeof *provs);
	double t[PROVIDERS_BUCKET];
	if (provs == NULL || n < PROVIDERS_BUCKET)
		return 1;
	bench_pin();
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "pc%c%c%c%c", 'a' + i / 17576 % 26, 'a' + i / 676 % 26, 'a' + i / 26 % 26,
		         'a' + i % 26);
		provs[i] = make_provider(name, 1);
		double t0 = bench_now_ns();
		if (usdt_provider_enable(provs[i]) != 0) {
			fprintf(stderr, "lifecycle: provider %d: %s\n", i, usdt_errstr(provs[i]));
			return 1;
		}
		t[i % PROVIDERS_BUCKET] = (bench_now_ns() - t0) / 1e3;
		if (i % PROVIDERS_BUCKET == PROVIDERS_BUCKET - 1)
			printf("%d %.3f\n", i + 1 - PROVIDERS_BUCKET, bench_median(t, PROVIDERS_BUCKET));
	}
	for (int i = 0; i < n; i++)
		usdt_provider_free(provs[i]);
	free(provs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--syscalls") == 0)
		return syscall_loop(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "--providers") == 0) {
		struct rlimit r;
		if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
			r.rlim_cur = r.rlim_max;
			setrlimit(RLIMIT_NOFILE, &r);
		}
		return providers_curve(atoi(argv[2]));
	}
	/* 10 000 providers hold 10 000 descriptors */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static const size_t sizes[] = { 1, 10, 100, 1000, 10000, 100000 };
	int smoke = bench_smoke();
	int runs = bench_runs();
	size_t nsizes = smoke ? 5 : 6;
	int nprov = smoke ? 200 : 1000;
	int cpu = bench_pin();
	const char *dat = getenv("BENCH_PLOT_DAT");
	FILE *plot = dat != NULL && dat[0] ? fopen(dat, "w") : NULL;

	bench_header("lifecycle: enable / disable / free, memory");
	printf("# %d runs per size (%d up to %d probes), pinned to CPU %d\n", runs,
	       smoke || runs >= SMALL_RUNS ? runs : SMALL_RUNS, SMALL_MAX, cpu);

	/* warm-up: the first enable of a process sets up the reader registry */
	usdt_provider_t *w = make_provider("lcwarm", 1);
	usdt_provider_enable(w);
	usdt_provider_free(w);

	double per_probe_1000 = 0;
	size_t objsize[6] = { 0 };       /* the object's size, per size */
	for (size_t s = 0; s < nsizes; s++) {
		size_t n = sizes[s];
		double en[BENCH_MAX_RUNS], dis[BENCH_MAX_RUNS], fr[BENCH_MAX_RUNS];
		double rss[BENCH_MAX_RUNS], maps[BENCH_MAX_RUNS], mk[BENCH_MAX_RUNS];
		/* Building a provider costs O(n^2) (usdt_provider_add_probe
		 * checks the whole list for a duplicate): ~45 s for 100 000
		 * probes. Above REBUILD_MAX one provider serves every run of
		 * enable/disable and free is timed once. */
		int rebuild = n <= REBUILD_MAX, nfree = 0;
		int nruns = n <= SMALL_MAX && !smoke && runs < SMALL_RUNS ? SMALL_RUNS : runs;
		usdt_provider_t *p = NULL;
		for (int r = 0; r < nruns; r++) {
			if (p == NULL) {
				double tm = bench_now_ns();
				p = make_provider("lcsize", n);
				mk[r] = (bench_now_ns() - tm) / 1e3;
			} else {
				mk[r] = mk[r - 1];
			}
			long rss0 = statm_resident_pages(), maps0 = maps_lines();
			double t0 = bench_now_ns();
			if (usdt_provider_enable(p) != 0) {
				fprintf(stderr, "lifecycle: enable %zu: %s\n", n, usdt_errstr(p));
				return 1;
			}
			double t1 = bench_now_ns();
			if (r == 0)
				objsize[s] = object_size("lcsize");
			rss[r] = (double)(statm_resident_pages() - rss0) * (double)sysconf(_SC_PAGESIZE);
			maps[r] = (double)(maps_lines() - maps0);
			double t2 = bench_now_ns();
			usdt_provider_disable(p);
			double t3 = bench_now_ns();
			if (rebuild || r == nruns - 1) {
				usdt_provider_free(p);
				p = NULL;
				fr[nfree++] = (bench_now_ns() - t3) / 1e3;
			}
			en[r] = (t1 - t0) / 1e3;
			dis[r] = (t3 - t2) / 1e3;
		}
		double men = bench_median(en, nruns), mdis = bench_median(dis, nruns), mfr = bench_median(fr, nfree);
		double mmk = bench_median(mk, nruns);
		double mrss = bench_median(rss, nruns), mmaps = bench_median(maps, nruns);
		char np[32], name[96], target[32] = "";
		const char *status = "";
		fmt_probes(np, sizeof np, n);
		if (n == 1) {
			snprintf(target, sizeof target, "<= 10 us");
			status = bench_status(1, men <= 10);
		} else if (n == 1000) {
			snprintf(target, sizeof target, "<= 100 us");
			status = bench_status(1, men <= 100);
			per_probe_1000 = men / 1000;
		}
		snprintf(name, sizeof name, "enable, %s probes", np);
		bench_row("lifecycle", name, men, "us", -1, "", target, status);
		snprintf(name, sizeof name, "disable, %s probes", np);
		bench_row("lifecycle", name, mdis, "us", -1, "", n == 1 ? "<= 5 us" : "",
		          n == 1 ? bench_status(1, mdis <= 5) : "");
		snprintf(name, sizeof name, "free, %s probes%s", np, nfree > 1 ? "" : " (1 run)");
		bench_row("lifecycle", name, mfr, "us", -1, "", "", "");
		snprintf(name, sizeof name, "create + add_probe, %s probes%s", np, rebuild ? "" : " (1 run)");
		bench_row("lifecycle", name, mmk, "us", -1, "", "", "");
		if (n >= 10000 && per_probe_1000 > 0) {
			double lin = men / (double)n / per_probe_1000;
			snprintf(name, sizeof name, "enable per probe at %s / at 1 000", np);
			bench_row("lifecycle", name, men / (double)n * 1e3, "ns", lin, "per probe at 1 000", "linear",
			          bench_status(1, lin <= 1.5));
			/* the kernel's share: the same bytes into a fresh memfd */
			size_t o1 = objsize[3], on = objsize[s];
			double f1 = o1 ? floor_memfd_write(o1, nruns) : 0, fn = on ? floor_memfd_write(on, nruns) : 0;
			if (f1 > 0 && fn > 0) {
				snprintf(name, sizeof name, "floor: memfd write of the object, per probe, %s / 1 000", np);
				bench_row("lifecycle", name, fn / (double)n, "ns", (fn / (double)n) / (f1 / 1000.0),
				          "the same at 1 000", "", "");
			}
		}
		snprintf(name, sizeof name, "resident memory of the enable, %s probes", np);
		bench_row("lifecycle", name, mrss / 1024, "KiB", -1, "", "", "");
		snprintf(name, sizeof name, "maps lines added by the enable, %s probes", np);
		bench_row("lifecycle", name, mmaps, "lines", -1, "", "", "");
		if (plot != NULL)
			fprintf(plot, "%zu %.3f %.3f %.3f\n", n, men, mdis, mfr);
		if (n == sizes[nsizes - 1]) {
			snprintf(name, sizeof name, "resident memory per probe (%s probes)", np);
			bench_row("lifecycle", name, mrss / (double)n, "bytes", -1, "", "", "");
		}
	}
	if (plot != NULL)
		fclose(plot);

	/* The floor, then many providers in one process. */
	struct image im = { 0 };
	if (floor_image(&im) != 0 || floor_rows(&im, smoke) != 0)
		return 1;
	int counts[2] = { nprov, smoke ? 0 : 10000 };
	for (int k = 0; k < 2 && counts[k] > 0; k++)
		if (many_providers(counts[k], k == 0 ? runs : 1, k == 0 ? 1.2 : 2.0, &im) != 0)
			return 1;
	free(im.bytes);
	return 0;
}

