/*
 * traced.c — cost of a traced fire with bpftrace attached: a libusdt probe
 * against two compiled-in probes of the same process, measured in the same
 * run:
 *   nop1   a <sys/sdt.h> DTRACE_PROBE2 site (a 1-byte nop) in a
 *          non-inlined function: the kernel leaves an int3 on it;
 *   nop5   a hand-written stapsdt note whose pc is a 5-byte nop
 *          (0f 1f 44 00 00) at the start of a non-inlined function: kernels
 *          with optimised uprobes (6.18 here) turn it into a call to a
 *          trampoline after the first hit (docs in linux-usdt.md §4);
 *   ours   usdt_fire_probe() with 2 arguments on a libusdt probe (also a
 *          5-byte nop, at the start of its own 8-byte site);
 *   jit    a second libusdt probe fired the way a JIT does it (usdt_vm.h):
 *          code emitted at run time (tests/progs/jit_x86_64.h) tests the
 *          site byte and jumps to the site with its own arguments.
 * The program starts bpftrace itself (`bpftrace -p PID -e 'usdt:*:P:N
 * { @x = count(); }'` for the three probes), waits until all three sites
 * are armed, fires each probe a few times (the first hit optimises the
 * 5-byte sites) and records their bytes, then, for each run, fires each
 * probe N times (2 million by default) and takes ns per fire. At the end
 * it stops bpftrace and checks that each count it printed equals the fires.
 *
 * Exit status: 0, 1 on error, 77 when it cannot run here (no bpftrace, not
 * root): bench/run.sh prints that clearly and fails under CI=true.
 * BPFTRACE=path selects the bpftrace binary.
 */
#include <sys/sdt.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "usdt.h"
#include "usdt_vm.h"
#include "../tests/progs/jit.h"

/* The 5-byte-nop compiled-in site, note written by hand like sys/sdt.h's. */
__asm__(".pushsection .text.bench_nop5,\"ax\",@progbits\n"
        "	.globl bench_nop5_site\n"
        "	.type bench_nop5_site, @function\n"
        "	.p2align 6\n"
        "bench_nop5_site:\n"
        "	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"    /* nopl 0x0(%rax,%rax,1): the probe site */
        "	ret\n"
        "	.size bench_nop5_site, .-bench_nop5_site\n"
        "	.popsection\n"
        "	.pushsection .note.stapsdt,\"?\",\"note\"\n"
        "	.balign 4\n"
        "	.4byte 992f-991f, 994f-993f, 3\n"
        "991:	.asciz \"stapsdt\"\n"
        "992:	.balign 4\n"
        "993:	.8byte bench_nop5_site\n"
        "	.8byte _.stapsdt.base\n"
        "	.8byte 0\n"                                /* no semaphore */
        "	.asciz \"bench_sdt5\"\n"
        "	.asciz \"fire\"\n"
        "	.asciz \"-8@%rdi -8@%rsi\"\n"
        "994:	.balign 4\n"
        "	.popsection\n"
        "	.ifndef _.stapsdt.base\n"
        "	.pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"
        "	.weak _.stapsdt.base\n"
        "	.hidden _.stapsdt.base\n"
        "_.stapsdt.base: .space 1\n"
        "	.size _.stapsdt.base, 1\n"
        "	.popsection\n"
        "	.endif\n");

void bench_nop5_site(long a, long b);
void bench_nop1_site(long a, long b);

BENCH_NOINLINE void bench_nop1_site(long a, long b)
{
	DTRACE_PROBE2(bench_sdt1, fire, a, b);
}

enum { K_OURS, K_NOP1, K_NOP5, K_JIT, K_N };
static const char *const kind_name[K_N] = { "libusdt probe (usdt_fire_probe, 2 args)",
                                            "compiled-in site on a 1-byte nop (sys/sdt.h)",
                                            "compiled-in site on a 5-byte nop (hand note)",
                                            "libusdt probe called by JIT code (usdt_vm.h)" };
static const char *const kind_map[K_N] = { "ours", "nop1", "nop5", "jit" };
static usdt_probe_t *our_probe;
static void (*jit_fire)(long, long);

static BENCH_NOINLINE double fire_ours(long n, void *x)
{
	usdt_probe_t *p = our_probe;
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		void *argv[2] = { (void *)i, x };
		usdt_fire_probe(p, 2, argv);
	}
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double fire_nop1(long n, void *x)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		bench_nop1_site(i, (long)x);
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double fire_nop5(long n, void *x)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		bench_nop5_site(i, (long)x);
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double fire_jit(long n, void *x)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		jit_fire(i, (long)x);
	return (bench_now_ns() - t0) / (double)n;
}

static double (*const fire[K_N])(long, void *) = { fire_ours, fire_nop1, fire_nop5, fire_jit };

/* ---- where the <sys/sdt.h> site is: read our own .note.stapsdt */

static int main_bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr;
	return 1;     /* the first object is the executable */
}

static const unsigned char *find_sdt_site(const char *provider, const char *name)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *img = NULL;
	const unsigned char *site = NULL;
	if (fd < 0 || fstat(fd, &st) != 0)
		goto out;
	img = malloc((size_t)st.st_size);
	if (img == NULL || pread(fd, img, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	const char *shstr = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	uintptr_t bias = 0;
	dl_iterate_phdr(main_bias_cb, &bias);
	for (int i = 0; i < eh->e_shnum && site == NULL; i++) {
		if (strcmp(shstr + sh[i].sh_name, ".note.stapsdt") != 0)
			continue;
		const unsigned char *q = img + sh[i].sh_offset, *end = q + sh[i].sh_size;
		while (q + sizeof(Elf64_Nhdr) <= end) {
			const Elf64_Nhdr *nh = (const Elf64_Nhdr *)q;
			const unsigned char *desc = q + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == 3 && nh->n_descsz > 24) {
				uint64_t pc;
				memcpy(&pc, desc, 8);
				const char *prov = (const char *)desc + 24;
				const char *pname = prov + strlen(prov) + 1;
				if (strcmp(prov, provider) == 0 && strcmp(pname, name) == 0) {
					site = (const unsigned char *)(bias + pc);
					break;
				}
			}
			q = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
out:
	free(img);
	if (fd >= 0)
		close(fd);
	return site;
}

/* ---- bpftrace */

static pid_t bt_pid = -1;
static char bt_out[64] = "";

static void stop_bpftrace(void)
{
	if (bt_pid > 0) {
		kill(bt_pid, SIGINT);
		int st;
		for (int i = 0; i < 200; i++) {
			if (waitpid(bt_pid, &st, WNOHANG) == bt_pid) {
				bt_pid = -1;
				return;
			}
			usleep(50000);
		}
		kill(bt_pid, SIGKILL);
		waitpid(bt_pid, &st, 0);
		bt_pid = -1;
	}
}

static int start_bpftrace(const char *bpftrace)
{
	char prog[512], pid[32];
	snprintf(prog, sizeof prog,
	         "usdt:*:benchtr:fire { @ours = count(); } "
	         "usdt:*:bench_sdt1:fire { @nop1 = count(); } "
	         "usdt:*:bench_sdt5:fire { @nop5 = count(); } "
	         "usdt:*:benchtr:jitfire { @jit = count(); }");
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	snprintf(bt_out, sizeof bt_out, "/tmp/libusdt-bench-bt.XXXXXX");
	int fd = mkstemp(bt_out);
	if (fd < 0)
		return -1;
	bt_pid = fork();
	if (bt_pid < 0)
		return -1;
	if (bt_pid == 0) {
		cpu_set_t all;
		CPU_ZERO(&all);
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof all, &all);
		signal(SIGINT, SIG_DFL);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp(bpftrace, bpftrace, "-p", pid, "-e", prog, (char *)NULL);
		_exit(127);
	}
	close(fd);
	return 0;
}

static long bt_count(const char *map)
{
	FILE *f = fopen(bt_out, "r");
	char line[256], key[64];
	long v = -1;
	snprintf(key, sizeof key, "@%s: ", map);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key));
	fclose(f);
	return v;
}

static void dump_bt_output(void)
{
	FILE *f = fopen(bt_out, "r");
	char line[256];
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "RLIMIT_MEMLOCK") == NULL)
			fprintf(stderr, "  bpftrace| %s", line);
	fclose(f);
}

static int site_armed(const unsigned char *s)
{
	return *(const volatile unsigned char *)s == 0xcc || *(const volatile unsigned char *)s == 0xe8;
}

static int has_trampoline(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, "[uprobes-trampoline]") != NULL)
			found = 1;
	fclose(f);
	return found;
}

int main(void)
{
	static const char *const types[2] = { "long", "long" };
	const char *bpftrace = getenv("BPFTRACE") != NULL ? getenv("BPFTRACE") : "bpftrace";
	int runs = bench_runs();
	long n = bench_smoke() ? 20000 : 2000000;
	const long warm = 1000;
	int rc = 0;

	if (geteuid() != 0) {
		printf("traced: SKIP: needs root to attach bpftrace\n");
		return 77;
	}
	char which[512];
	snprintf(which, sizeof which, "command -v %s >/dev/null 2>&1", bpftrace);
	if (system(which) != 0) {
		printf("traced: SKIP: %s is not installed\n", bpftrace);
		return 77;
	}

	usdt_provider_t *prov = usdt_create_provider("benchtr", "bench");
	usdt_probedef_t *pd = usdt_create_probe("bench", "fire", 2, (const char **)types);
	usdt_probedef_t *jpd = usdt_create_probe("bench", "jitfire", 2, (const char **)types);
	usdt_vm_client_t *client = usdt_vm_client_create(NULL, NULL);
	usdt_vm_probe_t jinfo;
	struct jit_buf jcode;
	if (prov == NULL || pd == NULL || jpd == NULL || client == NULL || usdt_provider_add_probe(prov, pd) != 0 ||
	    usdt_provider_add_probe(prov, jpd) != 0 || usdt_provider_enable(prov) != 0 ||
	    usdt_vm_probe_info(client, jpd, &jinfo) != 1 || jit_open(&jcode) != 0) {
		fprintf(stderr, "traced: %s\n", prov ? usdt_errstr(prov) : usdt_last_errstr());
		return 1;
	}
	jit_emit_c_probe(&jcode, &jinfo, JIT_CHECK_SITE);
	if (jit_seal(&jcode) != 0) {
		perror("traced: mprotect");
		return 1;
	}
	jit_fire = (void (*)(long, long))(void *)jcode.p;
	our_probe = pd->probe;
	const unsigned char *sites[K_N];
	sites[K_OURS] = our_probe->_site;
	sites[K_NOP1] = find_sdt_site("bench_sdt1", "fire");
	sites[K_NOP5] = (const unsigned char *)(uintptr_t)bench_nop5_site;
	sites[K_JIT] = jinfo.site;
	if (sites[K_NOP1] == NULL || sites[K_NOP1][0] != 0x90) {
		fprintf(stderr, "traced: cannot find the sys/sdt.h site in our own notes\n");
		return 1;
	}

	if (start_bpftrace(bpftrace) != 0) {
		fprintf(stderr, "traced: cannot start %s: %s\n", bpftrace, strerror(errno));
		return 1;
	}
	double t0 = bench_now_ns();
	for (;;) {
		if (usdt_is_enabled(our_probe) && site_armed(sites[K_NOP1]) && site_armed(sites[K_NOP5]) &&
		    site_armed(sites[K_JIT]))
			break;
		int st;
		if (waitpid(bt_pid, &st, WNOHANG) == bt_pid) {
			bt_pid = -1;
			fprintf(stderr, "traced: bpftrace exited before attaching:\n");
			dump_bt_output();
			return 1;
		}
		if (bench_now_ns() - t0 > 60e9) {
			fprintf(stderr, "traced: bpftrace did not attach within 60 s\n");
			stop_bpftrace();
			dump_bt_output();
			return 1;
		}
		usleep(20000);
	}
	int cpu = bench_pin();
	bench_header("traced fire, bpftrace attached (count())");
	printf("# %d runs x %ld fires per probe, pinned to CPU %d; bpftrace attached after %.1f s\n", runs, n, cpu,
	       (bench_now_ns() - t0) / 1e9);

	unsigned char bytes[K_N][5];
	void *x = &runs;
	for (int k = 0; k < K_N; k++) {
		fire[k](1, x);                 /* the first hit optimises a 5-byte site */
		usleep(1000);
		fire[k](warm - 1, x);
		memcpy(bytes[k], sites[k], 5);
	}
	double ns[K_N][BENCH_MAX_RUNS], r_ours_nop5[BENCH_MAX_RUNS], r_nop1_ours[BENCH_MAX_RUNS];
	double r_jit_nop5[BENCH_MAX_RUNS];
	for (int r = 0; r < runs; r++) {
		for (int k = 0; k < K_N; k++)
			ns[k][r] = fire[k](n, x);
		r_ours_nop5[r] = ns[K_OURS][r] / ns[K_NOP5][r];
		r_nop1_ours[r] = ns[K_NOP1][r] / ns[K_OURS][r];
		r_jit_nop5[r] = ns[K_JIT][r] / ns[K_NOP5][r];
	}
	int tramp = has_trampoline();
	stop_bpftrace();

	double med[K_N];
	for (int k = 0; k < K_N; k++)
		med[k] = bench_median(ns[k], runs);
	double rr = bench_median(r_ours_nop5, runs), rf = bench_median(r_nop1_ours, runs);
	bench_row("traced", kind_name[K_NOP1], med[K_NOP1], "ns", -1, "", "", "");
	bench_row("traced", kind_name[K_NOP5], med[K_NOP5], "ns", -1, "", "", "");
	bench_row("traced", kind_name[K_OURS], med[K_OURS], "ns", rr, "5-byte-nop site", "<= 1.15x",
	          bench_status(1, rr <= 1.15));
	bench_row("traced", "1-byte-nop site / libusdt probe (speed-up)", rf, "x", rf, "(nop1 ns / ours ns)", ">= 1.7x",
	          bench_status(1, rf >= 1.7));
	double rj = bench_median(r_jit_nop5, runs);
	bench_row("traced", kind_name[K_JIT], med[K_JIT], "ns", rj, "5-byte-nop site", "<= 1.1x",
	          bench_status(1, rj <= 1.1));

	long expect = warm + (long)runs * n;
	for (int k = 0; k < K_N; k++) {
		long got = bt_count(kind_map[k]);
		char name[96], b[48];
		snprintf(name, sizeof name, "bpftrace count = fires (%s)", kind_map[k]);
		bench_row("traced", name, (double)got, "fires", -1, "", "", bench_status(1, got == expect));
		if (got != expect) {
			fprintf(stderr, "traced: bpftrace counted %ld %s fires, expected %ld\n", got, kind_map[k], expect);
			dump_bt_output();
			rc = 1;
		}
		snprintf(b, sizeof b, "%02x %02x %02x %02x %02x", bytes[k][0], bytes[k][1], bytes[k][2], bytes[k][3],
		         bytes[k][4]);
		printf("traced     site bytes after first hit (%s): %s  (%s)\n", kind_map[k], b,
		       bytes[k][0] == 0xe8 ? "e8 = optimised: call to the uprobe trampoline"
		       : bytes[k][0] == 0xcc ? "cc = int3 breakpoint, not optimised" : "not armed?");
		const char *csv = getenv("BENCH_CSV");
		FILE *f = csv != NULL && csv[0] ? fopen(csv, "a") : NULL;
		if (f != NULL) {
			fprintf(f, "traced,\"site bytes after first hit (%s)\",0,\"%s\",0,\"\",\"\",%s\n", kind_map[k], b,
			        bytes[k][0] == 0xe8 ? "optimised" : "int3");
			fclose(f);
		}
	}
	printf("traced     [uprobes-trampoline] mapped: %s; %ld fires per probe counted\n", tramp ? "yes" : "no",
	       expect);
	unlink(bt_out);
	munmap(jcode.p, JIT_CODE_SIZE);
	usdt_vm_client_free(client);
	usdt_probe_release(pd);
	usdt_probe_release(jpd);
	usdt_provider_free(prov);
	return rc;
}
