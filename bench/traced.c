/*
 * traced.c — cost of a traced fire with bpftrace attached: a libusdt probe
 * against two compiled-in probes of the same process, measured in the same
 * run:
 *   sdt    a <sys/sdt.h> DTRACE_PROBE2 site in a non-inlined function: a
 *          1-byte nop on x86 (the kernel leaves an int3 on it), a 4-byte
 *          nop on aarch64 (a BRK);
 *   hand   a hand-written stapsdt note whose pc is the first instruction
 *          of a non-inlined function shaped like libusdt's own site: on
 *          x86 a 5-byte nop (0f 1f 44 00 00; kernels with optimised uprobes,
 *          6.18 here, turn it into a call to a trampoline after the first
 *          hit on x86_64: docs in linux-usdt.md §4), on aarch64 `nop; ret`;
 *   ours   usdt_fire_probe() with 2 arguments on a libusdt probe (the same
 *          instruction, at the start of its own 8-byte site);
 *   jit    a second libusdt probe fired the way a JIT does it (usdt_vm.h):
 *          code emitted at run time (tests/progs/jit_x86_64.h,
 *          jit_aarch64.h) tests the site byte and jumps to the site with
 *          its own arguments. Not on i386 (the test JIT has no i386 half).
 * Targets: ours <= 1.15x hand and jit <= 1.1x hand everywhere; on x86_64
 * also ours >= 1.7x faster than the 1-byte sdt site (what optimised
 * uprobes give); elsewhere, with no optimised uprobes, ours <= 1.15x sdt.
 * The program starts bpftrace itself (`bpftrace -p PID -e 'usdt:*:P:N
 * { @x = count(); }'` for the probes), waits until every site is armed
 * (its first 4 bytes changed), fires each probe a few times (the first hit
 * optimises the 5-byte sites) and records their bytes, then, for each run,
 * fires each probe N times (2 million by default, BENCH_TRACED_FIRES=N)
 * and takes ns per fire. At the end it stops bpftrace and checks that each
 * count it printed equals the fires.
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
#include "bench_bpftrace.h"
#include "usdt.h"
#include "usdt_vm.h"
#include "../tests/progs/jit.h"

/* The compiled-in site shaped like libusdt's, note written by hand like
 * sys/sdt.h's: the first instruction of its own function, then ret. */
#if defined(__x86_64__) || defined(__i386__)
#define HAND_SITE "	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n" /* nopl 0x0(%rax,%rax,1): the probe site */
#elif defined(__aarch64__)
#define HAND_SITE "	nop\n"                            /* d503201f: the probe site */
#else
#error "bench/traced.c: no hand-written site for this architecture"
#endif
#if defined(__x86_64__)
#define NOTE_ADDR ".8byte"
#define HAND_ARGS "-8@%rdi -8@%rsi"
#elif defined(__i386__)
#define NOTE_ADDR ".4byte"                              /* ELFCLASS32: 4-byte addresses */
#define HAND_ARGS "-4@4(%esp) -4@8(%esp)"               /* cdecl: on the stack */
#else
#define NOTE_ADDR ".8byte"
#define HAND_ARGS "-8@x0 -8@x1"
#endif
__asm__(".pushsection .text.bench_hand,\"ax\",%progbits\n"
        "	.globl bench_hand_site\n"
        "	.type bench_hand_site, %function\n"
        "	.p2align 6\n"
        "bench_hand_site:\n"
        HAND_SITE
        "	ret\n"
        "	.size bench_hand_site, .-bench_hand_site\n"
        "	.popsection\n"
        "	.pushsection .note.stapsdt,\"?\",\"note\"\n"
        "	.balign 4\n"
        "	.4byte 992f-991f, 994f-993f, 3\n"
        "991:	.asciz \"stapsdt\"\n"
        "992:	.balign 4\n"
        "993:	" NOTE_ADDR " bench_hand_site\n"
        "	" NOTE_ADDR " _.stapsdt.base\n"
        "	" NOTE_ADDR " 0\n"                          /* no semaphore */
        "	.asciz \"bench_hand\"\n"
        "	.asciz \"fire\"\n"
        "	.asciz \"" HAND_ARGS "\"\n"
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

void bench_hand_site(long a, long b);
void bench_sdt_site(long a, long b);

BENCH_NOINLINE void bench_sdt_site(long a, long b)
{
	DTRACE_PROBE2(bench_sdt1, fire, a, b);
}

/* What each architecture's rows are called (the x86_64 names are those of
 * the earlier runs, so that their CSV rows still compare). */
#if defined(__x86_64__) || defined(__i386__)
#define SDT_NAME "compiled-in site on a 1-byte nop (sys/sdt.h)"
#define HAND_NAME "compiled-in site on a 5-byte nop (hand note)"
#define SDT_LABEL "nop1"
#define HAND_LABEL "nop5"
#define HAND_BASE "5-byte-nop site"
#define SDT_IDLE_OK(s) ((s)[0] == 0x90)
#else
#define SDT_NAME "compiled-in site on a 4-byte nop (sys/sdt.h)"
#define HAND_NAME "compiled-in nop; ret site (hand note)"
#define SDT_LABEL "sdt"
#define HAND_LABEL "nopret"
#define HAND_BASE "nop; ret site"
#define SDT_IDLE_OK(s) (*(const uint32_t *)(const void *)(s) == 0xd503201fu)
#endif
#ifdef JIT_ARCH
#define HAVE_JIT 1
#else
#define HAVE_JIT 0     /* i386: the test JIT has no i386 half */
#endif

enum { K_OURS, K_SDT, K_HAND, K_JIT, K_N };
static const char *const kind_name[K_N] = { "libusdt probe (usdt_fire_probe, 2 args)", SDT_NAME, HAND_NAME,
                                            "libusdt probe called by JIT code (usdt_vm.h)" };
static const char *const kind_map[K_N] = { "ours", "sdt", "hand", "jit" };      /* bpftrace maps */
static const char *const kind_label[K_N] = { "ours", SDT_LABEL, HAND_LABEL, "jit" };
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

static BENCH_NOINLINE double fire_sdt(long n, void *x)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		bench_sdt_site(i, (long)x);
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double fire_hand(long n, void *x)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		bench_hand_site(i, (long)x);
	return (bench_now_ns() - t0) / (double)n;
}

static BENCH_NOINLINE double fire_jit(long n, void *x)
{
	double t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		jit_fire(i, (long)x);
	return (bench_now_ns() - t0) / (double)n;
}

static double (*const fire[K_N])(long, void *) = { fire_ours, fire_sdt, fire_hand, fire_jit };

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
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)img;
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(img + eh->e_shoff);
	const char *shstr = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	uintptr_t bias = 0;
	dl_iterate_phdr(main_bias_cb, &bias);
	for (int i = 0; i < eh->e_shnum && site == NULL; i++) {
		if (strcmp(shstr + sh[i].sh_name, ".note.stapsdt") != 0)
			continue;
		const unsigned char *q = img + sh[i].sh_offset, *end = q + sh[i].sh_size;
		while (q + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)q;
			const unsigned char *desc = q + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
			/* pc, base, semaphore: one address each (4 bytes on i386) */
			if (nh->n_type == 3 && nh->n_descsz > 3 * sizeof(uintptr_t)) {
				uintptr_t pc;
				memcpy(&pc, desc, sizeof pc);
				const char *prov = (const char *)desc + 3 * sizeof(uintptr_t);
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

static struct bench_bt bt = { -1, "" };

static int start_bpftrace(const char *bpftrace)
{
	char prog[512];
	snprintf(prog, sizeof prog,
	         "usdt:*:benchtr:fire { @ours = count(); } "
	         "usdt:*:bench_sdt1:fire { @sdt = count(); } "
	         "usdt:*:bench_hand:fire { @hand = count(); }%s",
	         HAVE_JIT ? " usdt:*:benchtr:jitfire { @jit = count(); }" : "");
	return bench_bt_start(&bt, bpftrace, prog, "bt");
}

/* A site is armed once its first 4 bytes differ from what they were
 * before bpftrace started: int3 (cc) or, optimised, a call (e8) on x86; a
 * BRK word on aarch64 (the library's own idle test, arch/aarch64.h, is
 * "the word is not the nop"). */
static unsigned char idle[K_N][4];

static int site_armed(const unsigned char *s, int k)
{
	unsigned char now[4];
	for (int i = 0; i < 4; i++)
		now[i] = ((const volatile unsigned char *)s)[i];
	return memcmp(now, idle[k], 4) != 0;
}

/* The bytes of a site after the first hit, and what they are. */
static void site_bytes(const unsigned char *s, char *hex, size_t hn, const char **what, const char **csv)
{
#if defined(__x86_64__) || defined(__i386__)
	snprintf(hex, hn, "%02x %02x %02x %02x %02x", s[0], s[1], s[2], s[3], s[4]);
	*what = s[0] == 0xe8 ? "e8 = optimised: call to the uprobe trampoline"
	        : s[0] == 0xcc ? "cc = int3 breakpoint, not optimised" : "not armed?";
	*csv = s[0] == 0xe8 ? "optimised" : "int3";
#else
	uint32_t w;
	memcpy(&w, s, 4);
	snprintf(hex, hn, "%08x", w);
	*what = w == 0xd42000a0u ? "d42000a0 = BRK #0x5, the uprobe breakpoint"
	        : (w & 0xffe0001fu) == 0xd4200000u ? "a BRK (not the uprobe's #0x5)" : "not armed?";
	*csv = (w & 0xffe0001fu) == 0xd4200000u ? "brk" : "other";
#endif
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
	long n = bench_iters(2000000, 20000);
	const long warm = 1000;
	const int nk = HAVE_JIT ? K_N : K_JIT;     /* kinds measured */
	int rc = 0;

	if (getenv("BENCH_TRACED_FIRES") != NULL && atol(getenv("BENCH_TRACED_FIRES")) > 0)
		n = atol(getenv("BENCH_TRACED_FIRES"));
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
#if HAVE_JIT
	jit_emit_c_probe(&jcode, &jinfo, JIT_CHECK_SITE);
#endif
	if (jit_seal(&jcode) != 0) {
		perror("traced: mprotect");
		return 1;
	}
	jit_fire = (void (*)(long, long))(void *)jcode.p;
	our_probe = pd->probe;
	const unsigned char *sites[K_N];
	sites[K_OURS] = our_probe->_site;
	sites[K_SDT] = find_sdt_site("bench_sdt1", "fire");
	sites[K_HAND] = (const unsigned char *)(uintptr_t)bench_hand_site;
	sites[K_JIT] = jinfo.site;
	if (sites[K_SDT] == NULL || !SDT_IDLE_OK(sites[K_SDT])) {
		fprintf(stderr, "traced: cannot find the sys/sdt.h site in our own notes\n");
		return 1;
	}
	for (int k = 0; k < nk; k++)
		memcpy(idle[k], sites[k], 4);

	if (start_bpftrace(bpftrace) != 0) {
		fprintf(stderr, "traced: cannot start %s: %s\n", bpftrace, strerror(errno));
		return 1;
	}
	double t0 = bench_now_ns();
	for (;;) {
		int armed = usdt_is_enabled(our_probe);
		for (int k = 1; k < nk; k++)
			armed = armed && site_armed(sites[k], k);
		if (armed)
			break;
		if (bench_bt_exited(&bt)) {
			fprintf(stderr, "traced: bpftrace exited before attaching:\n");
			bench_bt_dump(&bt);
			return 1;
		}
		if (bench_now_ns() - t0 > 120e9) {
			fprintf(stderr, "traced: bpftrace did not attach within 120 s\n");
			bench_bt_stop(&bt);
			bench_bt_dump(&bt);
			return 1;
		}
		usleep(20000);
	}
	int cpu = bench_pin();
	bench_header("traced fire, bpftrace attached (count())");
	printf("# %d runs x %ld fires per probe, pinned to CPU %d; bpftrace attached after %.1f s%s\n", runs, n, cpu,
	       (bench_now_ns() - t0) / 1e9, HAVE_JIT ? "" : "; no JIT row (the test JIT has no half for this arch)");

	unsigned char bytes[K_N][5];
	void *x = &runs;
	for (int k = 0; k < nk; k++) {
		fire[k](1, x);                 /* the first hit optimises a 5-byte site */
		usleep(1000);
		fire[k](warm - 1, x);
		memcpy(bytes[k], sites[k], 5);
	}
	double ns[K_N][BENCH_MAX_RUNS], r_ours_hand[BENCH_MAX_RUNS], r_sdt_ours[BENCH_MAX_RUNS];
	double r_jit_hand[BENCH_MAX_RUNS];
	for (int r = 0; r < runs; r++) {
		for (int k = 0; k < nk; k++)
			ns[k][r] = fire[k](n, x);
		r_ours_hand[r] = ns[K_OURS][r] / ns[K_HAND][r];
		r_sdt_ours[r] = ns[K_SDT][r] / ns[K_OURS][r];
		r_jit_hand[r] = HAVE_JIT ? ns[K_JIT][r] / ns[K_HAND][r] : 0;
	}
	int tramp = has_trampoline();
	bench_bt_stop(&bt);

	double med[K_N];
	for (int k = 0; k < nk; k++)
		med[k] = bench_median(ns[k], runs);
	double rr = bench_median(r_ours_hand, runs), rf = bench_median(r_sdt_ours, runs);
	const char *hand_base = HAND_BASE;
	bench_row("traced", kind_name[K_SDT], med[K_SDT], "ns", -1, "", "", "");
	bench_row("traced", kind_name[K_HAND], med[K_HAND], "ns", -1, "", "", "");
	bench_row("traced", kind_name[K_OURS], med[K_OURS], "ns", rr, hand_base, "<= 1.15x",
	          bench_status(1, rr <= 1.15));
#if defined(__x86_64__)
	/* optimised uprobes (a call, not an int3) exist on x86_64 only */
	bench_row("traced", "1-byte-nop site / libusdt probe (speed-up)", rf, "x", rf, "(nop1 ns / ours ns)", ">= 1.7x",
	          bench_status(1, rf >= 1.7));
#else
	/* no optimised uprobes: the same breakpoint path as a sys/sdt.h site */
	bench_row("traced", "libusdt probe vs the sys/sdt.h site", 1 / rf, "x", 1 / rf, "(ours ns / sdt ns)",
	          "<= 1.15x", bench_status(1, 1 / rf <= 1.15));
#endif
	if (HAVE_JIT) {
		double rj = bench_median(r_jit_hand, runs);
		bench_row("traced", kind_name[K_JIT], med[K_JIT], "ns", rj, hand_base, "<= 1.1x",
		          bench_status(1, rj <= 1.1));
	}

	long expect = warm + (long)runs * n;
	for (int k = 0; k < nk; k++) {
		long got = bench_bt_count(&bt, kind_map[k]);
		char name[96], b[48];
		const char *what, *csvwhat;
		snprintf(name, sizeof name, "bpftrace count = fires (%s)", kind_label[k]);
		bench_row("traced", name, (double)got, "fires", -1, "", "", bench_status(1, got == expect));
		if (got != expect) {
			fprintf(stderr, "traced: bpftrace counted %ld %s fires, expected %ld\n", got, kind_label[k],
			        expect);
			bench_bt_dump(&bt);
			rc = 1;
		}
		site_bytes(bytes[k], b, sizeof b, &what, &csvwhat);
		printf("traced     site bytes after first hit (%s): %s  (%s)\n", kind_label[k], b, what);
		const char *csv = getenv("BENCH_CSV");
		FILE *f = csv != NULL && csv[0] ? fopen(csv, "a") : NULL;
		if (f != NULL) {
			fprintf(f, "traced,\"site bytes after first hit (%s)\",0,\"%s\",0,\"\",\"\",%s\n", kind_label[k], b,
			        csvwhat);
			fclose(f);
		}
	}
	printf("traced     [uprobes-trampoline] mapped: %s; %ld fires per probe counted\n", tramp ? "yes" : "no",
	       expect);
	unlink(bt.out);
	munmap(jcode.p, JIT_CODE_SIZE);
	usdt_vm_client_free(client);
	usdt_probe_release(pd);
	usdt_probe_release(jpd);
	usdt_provider_free(prov);
	return rc;
}
