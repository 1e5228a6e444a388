/*
 * t_argspec.c — the architecture seam proven without a tracer, on every
 * architecture (x86_64 natively, i386 natively as -m32, aarch64 under
 * qemu-user in CI and natively in the arm64 VM): what the note says and
 * what the fire path does agree, for 0..USDT_ARG_MAX arguments of every
 * width and sign.
 *   1. usdt_arch_call() calls a capture function (assembly per arch) in
 *      place of a probe site; it records the argument registers and a copy
 *      of the stack above its entry sp. A small interpreter evaluates each
 *      operand of usdt_arch_argspec() ("-4@%edi", "8@16(%rsp)", "-4@x0",
 *      "8@[x9, 8]", "8@404(%esp)") against that state, as a tracer would at
 *      the site, and the value must equal the word fired, narrowed to the
 *      declared size and extended by its sign (on ILP32 an 8-byte argument
 *      is the word extended: i386.h).
 *   2. A real provider's object: ELF class and machine of the arch, a
 *      hard-coded expected spec for (int, char *, uint64_t), the site bytes.
 *   3. Is-enabled without semaphore: writing the arch's breakpoint (int3,
 *      BRK #5 as the kernel's uprobe does) into the mapped site makes
 *      usdt_is_enabled() and usdt_is_enabled_inline() 1; the nop back, 0.
 */
#include <elf.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "check.h"
#include "usdt.h"
#include "usdt_internal.h"

#define CAP_STACK 1024           /* bytes copied from the site's entry sp */
#define CAP_REGS 16

__attribute__((used, visibility("hidden"))) uint64_t cap_regs[CAP_REGS];
__attribute__((used, visibility("hidden"))) uintptr_t cap_sp;
__attribute__((used, visibility("hidden"), aligned(16))) uint8_t cap_stack[CAP_STACK];
void cap_site(void);

#if defined(__x86_64__)
__asm__(".text\n.globl cap_site\n.hidden cap_site\n.type cap_site,@function\ncap_site:\n"
        "  movq %rdi, cap_regs+0(%rip)\n  movq %rsi, cap_regs+8(%rip)\n  movq %rdx, cap_regs+16(%rip)\n"
        "  movq %rcx, cap_regs+24(%rip)\n  movq %r8, cap_regs+32(%rip)\n  movq %r9, cap_regs+40(%rip)\n"
        "  movq %rsp, cap_sp(%rip)\n  movq %rsp, %rsi\n  leaq cap_stack(%rip), %rdi\n"
        "  movl $1024, %ecx\n  rep movsb\n  ret\n.size cap_site, .-cap_site\n");
static const char *const xregs[][4] = {
	{ "%rdi", "%edi", "%di", "%dil" }, { "%rsi", "%esi", "%si", "%sil" }, { "%rdx", "%edx", "%dx", "%dl" },
	{ "%rcx", "%ecx", "%cx", "%cl" }, { "%r8", "%r8d", "%r8w", "%r8b" }, { "%r9", "%r9d", "%r9w", "%r9b" },
};
#elif defined(__aarch64__)
__asm__(".text\n.globl cap_site\n.hidden cap_site\n.type cap_site,%function\ncap_site:\n"
        "  adrp x16, cap_regs\n  add x16, x16, :lo12:cap_regs\n"
        "  stp x0, x1, [x16, #0]\n  stp x2, x3, [x16, #16]\n  stp x4, x5, [x16, #32]\n"
        "  stp x6, x7, [x16, #48]\n  stp x8, x9, [x16, #64]\n"
        "  mov x17, sp\n  adrp x16, cap_sp\n  add x16, x16, :lo12:cap_sp\n  str x17, [x16]\n"
        "  adrp x16, cap_stack\n  add x16, x16, :lo12:cap_stack\n  mov x15, #0\n"
        "1: ldr x14, [x17, x15]\n  str x14, [x16, x15]\n  add x15, x15, #8\n  cmp x15, #1024\n  b.lo 1b\n"
        "  ret\n.size cap_site, .-cap_site\n");
#elif defined(__i386__)
/* all arguments are on the stack: a C function with a frame pointer finds
 * its entry sp at ebp + 4 */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) void cap_site(void)
{
	const uint8_t *entry_sp = (const uint8_t *)__builtin_frame_address(0) + 4;
	cap_sp = (uintptr_t)entry_sp;
	memcpy(cap_stack, entry_sp, CAP_STACK);
}
#endif

/* Evaluate one operand as a tracer would; returns 0 and *out, or -1. */
static int eval_operand(const char *op, int size, uint64_t *out)
{
	uint64_t raw = 0;
	int bytes = abs(size);
	char base[16];
	long disp;
	int n = 0;
#if defined(__x86_64__)
	for (size_t r = 0; r < sizeof xregs / sizeof xregs[0]; r++)
		for (int k = 0; k < 4; k++)
			if (strcmp(op, xregs[r][k]) == 0) {
				raw = cap_regs[r];
				goto extend;
			}
	if (sscanf(op, "%ld(%15[%a-z0-9])%n", &disp, base, &n) == 2 && op[n] == '\0' && strcmp(base, "%rsp") == 0)
		goto memory;
	return -1;
#elif defined(__aarch64__)
	unsigned reg;
	if (sscanf(op, "x%u%n", &reg, &n) == 1 && op[n] == '\0' && reg < 10) {
		raw = cap_regs[reg];
		goto extend;
	}
	if (sscanf(op, "[x%u, %ld]%n", &reg, &disp, &n) == 2 && op[n] == '\0' && reg < 10) {
		disp += (long)(cap_regs[reg] - cap_sp);
		goto memory;
	}
	(void)base;
	return -1;
#elif defined(__i386__)
	if (sscanf(op, "%ld(%15[%a-z0-9])%n", &disp, base, &n) == 2 && op[n] == '\0' && strcmp(base, "%esp") == 0)
		goto memory;
	if (op[0] == '%')              /* no register operands on i386 */
		goto extend;
	return -1;
#endif
memory:
	if (disp < 0 || disp + bytes > CAP_STACK)
		return -1;
	memcpy(&raw, cap_stack + disp, (size_t)bytes);     /* little-endian */
extend:
	if (bytes < 8) {
		uint64_t mask = (1ull << (8 * bytes)) - 1;
		raw &= mask;
		if (size < 0 && (raw >> (8 * bytes - 1)) & 1)
			raw |= ~mask;
	}
	*out = raw;
	return 0;
}

/* What a tracer must read for a word fired as an argument of `size`. */
static uint64_t expected(uintptr_t word, int size)
{
	int bytes = abs(size);
	uint64_t v = word;
	if (bytes < (int)sizeof word) {
		uint64_t mask = (1ull << (8 * bytes)) - 1;
		v &= mask;
		if (size < 0 && (v >> (8 * bytes - 1)) & 1)
			v |= ~mask;
	} else if (size < 0 && sizeof word < 8 && (word >> (8 * sizeof word - 1)) & 1) {
		v |= ~(uint64_t)UINTPTR_MAX;                      /* ILP32: sign-extend the word */
	}
	return v;
}

/* The next space-separated operand ("[x9, 8]" keeps its space). */
static int next_operand(const char **p, char *out, size_t outlen)
{
	const char *q = *p;
	size_t n = 0;
	int depth = 0;
	while (*q == ' ')
		q++;
	if (*q == '\0')
		return 0;
	for (; *q != '\0' && (*q != ' ' || depth > 0); q++) {
		depth += *q == '[' ? 1 : *q == ']' ? -1 : 0;
		if (n + 1 < outlen)
			out[n++] = *q;
	}
	out[n] = '\0';
	*p = q;
	return 1;
}

static void check_calls(void)
{
	static const int8_t sizes[] = { -1, 1, -2, 2, -4, 4, -8, 8 };
	void *argv[USDT_ARG_MAX];
	int8_t sz[USDT_ARG_MAX];
	char spec[USDT_ARG_MAX * 24];
	for (int rot = 0; rot < 2; rot++)
		for (size_t argc = 0; argc <= USDT_ARG_MAX; argc++) {
			for (size_t i = 0; i < USDT_ARG_MAX; i++) {
				sz[i] = sizes[(i + (size_t)rot * 3) % 8];
				/* high bits set, a different byte pattern per argument */
				uint64_t w = 0x8070605040302010ull ^ (0x0101010101010101ull * (i + 1)) ^ (rot ? 0x7f : 0);
				argv[i] = (void *)(uintptr_t)w;
			}
			int len = usdt_arch_argspec(spec, sizeof spec, argc, sz);
			memset(cap_regs, 0, sizeof cap_regs);
			memset(cap_stack, 0, sizeof cap_stack);
			usdt_arch_call((const void *)cap_site, argc, argv);
			size_t bad = 0, seen = 0;
			const char *p = len >= 0 ? spec : "";
			char tok[64];
			for (; next_operand(&p, tok, sizeof tok); seen++) {
				int size = atoi(tok);
				const char *at = strchr(tok, '@');
				uint64_t got = 0;
				int rc = at != NULL ? eval_operand(at + 1, size, &got) : -1;
				if (seen >= argc || rc != 0 || size != sz[seen] || got != expected((uintptr_t)argv[seen], size)) {
					if (bad++ == 0)
						printf("# argc %zu arg %zu: operand \"%s\" (rc %d) got %llx want %llx\n", argc, seen,
						       tok, rc, (unsigned long long)got,
						       (unsigned long long)(seen < argc ? expected((uintptr_t)argv[seen], size) : 0));
				}
			}
			if (argc == 0 || argc == 1 || argc == 6 || argc == 7 || argc == 8 || argc == 9 || argc == 12 ||
			    argc == USDT_ARG_MAX || bad != 0 || seen != argc)
				CHECK(len >= 0 && bad == 0 && seen == argc,
				      "%s: %zu argument(s), sizes rotated %d: every operand reads the fired value (%zu bad)",
				      USDT_ARCH_NAME, argc, rot, bad);
		}
}

/* The libusdt object of provider `prov` mapped in this process (a memfd or
 * a file), read whole; NULL if not found. */
static uint8_t *read_object(const char *prov, size_t *size)
{
	char want[128], link[512], path[300];
	snprintf(want, sizeof want, "libusdt:%s", prov);
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint8_t *img = NULL;
	while (d != NULL && img == NULL && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, want) == NULL || strstr(link, "libusdt-dof") != NULL)
			continue;
		int fd = open(path, O_RDONLY);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && (img = malloc((size_t)st.st_size)) != NULL &&
		    pread(fd, img, (size_t)st.st_size, 0) != st.st_size) {
			free(img);
			img = NULL;
		}
		*size = img ? (size_t)st.st_size : 0;
		if (fd >= 0)
			close(fd);
	}
	if (d != NULL)
		closedir(d);
	return img;
}

/* The argument string of the first stapsdt note, or NULL. */
static const char *first_note_args(const uint8_t *img, size_t size)
{
	const USDT_ELF(Ehdr) *eh = (const USDT_ELF(Ehdr) *)img;
	if (size < sizeof *eh || eh->e_shoff + (size_t)eh->e_shnum * sizeof(USDT_ELF(Shdr)) > size)
		return NULL;
	const USDT_ELF(Shdr) *sh = (const USDT_ELF(Shdr) *)(img + eh->e_shoff);
	const char *names = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	for (size_t i = 0; i < eh->e_shnum; i++) {
		if (strcmp(names + sh[i].sh_name, ".note.stapsdt") != 0)
			continue;
		const uint8_t *q = img + sh[i].sh_offset;
		const USDT_ELF(Nhdr) *nh = (const USDT_ELF(Nhdr) *)q;
		const char *desc = (const char *)q + sizeof *nh + ((nh->n_namesz + 3) & ~3u);
		desc += 3 * sizeof(USDT_ELF(Addr));
		desc += strlen(desc) + 1;           /* provider */
		desc += strlen(desc) + 1;           /* probe */
		return desc;
	}
	return NULL;
}

static void check_object(void)
{
#if defined(__x86_64__)
	const char *want = "-4@%edi 8@%rsi 8@%rdx";
	const uint8_t brk[] = { 0xcc };                           /* int3 */
#elif defined(__aarch64__)
	const char *want = "-4@x0 8@x1 8@x2";
	const uint8_t brk[] = { 0xa0, 0x00, 0x20, 0xd4 };         /* BRK #5: the kernel's uprobe */
#elif defined(__i386__)
	const char *want = "-4@4(%esp) 4@8(%esp) 8@404(%esp)";
	const uint8_t brk[] = { 0xcc };
#endif
	const char *types[] = { "int", "char *", "uint64_t" };
	usdt_provider_t *prov = usdt_create_provider("archprov", "mod");
	usdt_probedef_t *pd = usdt_create_probe("fn", "p3", 3, types);
	CHECK(prov != NULL && pd != NULL && usdt_provider_add_probe(prov, pd) == 0 && usdt_provider_enable(prov) == 0,
	      "provider with probe p3(int, char *, uint64_t) enabled (%s)", usdt_errstr(prov));
	size_t size = 0;
	uint8_t *img = read_object("archprov", &size);
	CHECK(img != NULL, "its object is readable through /proc/self/fd (%zu bytes)", size);
	if (img != NULL) {
		const USDT_ELF(Ehdr) *eh = (const USDT_ELF(Ehdr) *)img;
		CHECK(eh->e_ident[EI_CLASS] == USDT_ARCH_ELF_CLASS && eh->e_machine == USDT_ARCH_ELF_MACHINE &&
		      eh->e_ident[EI_DATA] == ELFDATA2LSB,
		      "%s object: class %d, machine %d", USDT_ARCH_NAME, eh->e_ident[EI_CLASS], eh->e_machine);
		const USDT_ELF(Phdr) *ph = (const USDT_ELF(Phdr) *)(img + eh->e_phoff);
		int loads = 0, aligned = 1;
		for (size_t i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD) {
				loads++;
				aligned &= ph[i].p_align == USDT_ARCH_PAGE_SIZE && ph[i].p_offset % USDT_ARCH_PAGE_SIZE == 0;
			}
		CHECK(loads == 2 && aligned, "two PT_LOADs aligned to the arch's %d-byte pages", USDT_ARCH_PAGE_SIZE);
		const char *args = first_note_args(img, size);
		CHECK(args != NULL && strcmp(args, want) == 0, "note arguments \"%s\" (want \"%s\")", args ? args : "?", want);
		free(img);
	}
	const struct usdt_binding *b = pd ? __atomic_load_n(&pd->probe->_live, __ATOMIC_ACQUIRE) : NULL;
	CHECK(b != NULL && memcmp(b->site, usdt_arch_site_code, USDT_ARCH_SITE_STRIDE) == 0,
	      "the mapped site holds the arch's site bytes");
	if (b == NULL) {
		usdt_provider_free(prov);
		return;
	}
	CHECK(usdt_is_enabled(pd->probe) == 0 && usdt_is_enabled_inline(pd->probe) == 0,
	      "no tracer: is_enabled 0, inline 0");
	/* what a tracer without semaphore does: a breakpoint on the site */
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *page = (uint8_t *)((uintptr_t)b->site & ~(uintptr_t)(pg - 1));
	int rc = mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE | PROT_EXEC);
	CHECK(rc == 0, "site page made writable for the test");
	if (rc == 0) {
		uint8_t *site = (uint8_t *)(uintptr_t)b->site;
		memcpy(site, brk, sizeof brk);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		CHECK(usdt_is_enabled(pd->probe) == 1 && usdt_is_enabled_inline(pd->probe) == 1,
		      "breakpoint %02x.. on the site: is_enabled 1, inline 1", brk[0]);
		memcpy(site, usdt_arch_site_code, sizeof brk);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		CHECK(usdt_is_enabled(pd->probe) == 0 && usdt_is_enabled_inline(pd->probe) == 0,
		      "nop restored: is_enabled 0, inline 0");
		mprotect(page, (size_t)pg, PROT_READ | PROT_EXEC);
	}
	usdt_probe_release(pd);
	usdt_provider_free(prov);
}

int main(void)
{
	check_calls();
	check_object();
	return check_done();
}
