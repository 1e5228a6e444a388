/*
 * dof_stub.c — the only place that knows machine code for DTrace
 * tracepoints (dof.md §12 and docs/dof.md "arm64"): the probe-site and
 * is-enabled-site stubs per profile and architecture, the macOS offset
 * rules, and the recognition of a valid tracepoint used by the validator's
 * address checks (checklist 55/56). The code is chosen at run time from the
 * profile, so an x86_64 build makes and checks arm64 stubs and documents
 * (and the other way round); only running a stub needs the architecture.
 *
 * x86-64 stubs (16 bytes, padded with int3):
 *
 *   probe (every profile), void stub(args...):
 *     41 5b            pop  %r11        return address out of the way, so
 *                                       that at the site %rsp points at the
 *                                       stack arguments exactly as at a
 *                                       `dtrace -G` call site
 *     90 90 90 90 90   five nops        <- tracepoint (first nop)
 *     41 53            push %r11
 *     c3               ret
 *
 *   is-enabled, return-value convention (illumos, FreeBSD, macOS),
 *   int stub(void):
 *     48 33 c0         xor  %rax,%rax
 *     90               nop              <- tracepoint: fasttrap sets %rax = 1
 *                                          and resumes after the nop
 *     90               nop
 *     c3               ret
 *
 *   is-enabled, pointer-argument convention (Linux, DOF v3), int stub(void):
 *     6a 00            push $0          an 8-byte zero flag on the stack
 *     48 89 e7         mov  %rsp,%rdi   arg0 = &flag
 *     90 90 90 90 90   five nops        <- tracepoint: the tracer writes 1
 *                                          into *arg0
 *     58               pop  %rax        return the flag
 *     c3               ret
 *
 * %r11 is a scratch register in the SysV ABI, so the probe stub clobbers
 * nothing a caller relies on.
 *
 * arm64 stubs (32 bytes, padded with udf #0; little-endian words):
 *
 *   probe (every profile), void stub(args...):
 *     d503201f         nop              <- tracepoint (+0). bl leaves sp
 *     d65f03c0         ret                 alone, so x0-x7 and [sp] hold the
 *                                          arguments as at a call site
 *
 *   is-enabled, return-value convention (macOS, FreeBSD), int stub(void):
 *     d2800000         movz x0, #0      <- tracepoint (+0): xnu's fasttrap
 *     d65f03c0         ret                 sets x0 = 1 and skips it
 *
 *   is-enabled, pointer-argument convention (Linux, DOF v3), int stub(void):
 *     f81f0fff         str  xzr, [sp, #-16]!   a zeroed 16-byte slot
 *     910003e0         mov  x0, sp             arg0 = &flag
 *     d503201f         nop              <- tracepoint (+8): the tracer
 *                                          writes 1 (4 bytes) into *x0
 *     b84107e0         ldr  w0, [sp], #16      return the flag, pop it
 *     d65f03c0         ret
 *
 * The sources these come from (xnu fasttrap_isa.c IS_ARM64_NOP /
 * IS_ARM64_IS_ENABLED, ld64's dtrace call-site rewrites, dtrace-utils and
 * FreeBSD dt_link.c) are cited in docs/dof.md.
 */
#include <errno.h>
#include <string.h>

#include "dof/dof.h"
#include "dof/dof_format.h"

/* ---- x86-64 ---- */
#define X86_STUB_SIZE 16
static const uint8_t x86_probe[] = {
	0x41, 0x5b, 0x90, 0x90, 0x90, 0x90, 0x90, 0x41, 0x53, 0xc3
};
#define X86_PROBE_SITE 2
static const uint8_t x86_enabled_rv[] = { 0x48, 0x33, 0xc0, 0x90, 0x90, 0xc3 };
#define X86_ENABLED_RV_SITE 3
static const uint8_t x86_enabled_arg[] = {
	0x6a, 0x00, 0x48, 0x89, 0xe7, 0x90, 0x90, 0x90, 0x90, 0x90, 0x58, 0xc3
};
#define X86_ENABLED_ARG_SITE 5
static const uint8_t x86_xor_rax[] = { 0x48, 0x33, 0xc0 };
static const uint8_t x86_xor_eax[] = { 0x33, 0xc0 };
static const uint8_t x86_mov_rdi_rsp[] = { 0x48, 0x89, 0xe7 };
#define X86_NOP 0x90
#define X86_PAD 0xcc
/* xnu (x86-64) subtracts 1 from probe offsets and adds 2 to is-enabled
 * offsets before adding the base (dof.md §12.1). */
#define X86_MACOS_PROBE_ADJ 1
#define X86_MACOS_ENABLED_ADJ (-2)

/* ---- arm64 (instruction words, stored little-endian) ---- */
#define A64_STUB_SIZE 32
#define A64_INSN 4
#define A64_NOP 0xd503201fu           /* xnu IS_ARM64_NOP, dt_link DT_OP_NOP */
#define A64_MOVZ_X0_0 0xd2800000u     /* xnu IS_ARM64_IS_ENABLED */
#define A64_RET 0xd65f03c0u
#define A64_STR_XZR_PRE 0xf81f0fffu   /* str xzr, [sp, #-16]! */
#define A64_MOV_X0_SP 0x910003e0u     /* mov x0, sp (add x0, sp, #0) */
#define A64_LDR_W0_POST 0xb84107e0u   /* ldr w0, [sp], #16 */
#define A64_PAD 0x00000000u           /* udf #0 */
static const uint32_t a64_probe[] = { A64_NOP, A64_RET };
#define A64_PROBE_SITE 0
static const uint32_t a64_enabled_rv[] = { A64_MOVZ_X0_0, A64_RET };
#define A64_ENABLED_RV_SITE 0
static const uint32_t a64_enabled_arg[] = {
	A64_STR_XZR_PRE, A64_MOV_X0_SP, A64_NOP, A64_LDR_W0_POST, A64_RET
};
#define A64_ENABLED_ARG_SITE 8

/* Has the Linux in-process integration (src/linux/dtrace_linux.c) stubs
 * for the host? x86_64 and aarch64: it places them in slots of
 * usdt_dof_stub_size(USDT_DOF_LINUX) bytes (16 and 32). i386 has none. */
#if defined(__x86_64__)
#define HOST_HAS_LINUX_STUBS 1
#define HOST_MACOS_PROBE_ADJ X86_MACOS_PROBE_ADJ
#define HOST_MACOS_ENABLED_ADJ X86_MACOS_ENABLED_ADJ
#define HOST_MACOS_CLEAR_BIT0 0
#define HOST_INSN_ALIGN 1
#elif defined(__aarch64__)
#define HOST_HAS_LINUX_STUBS 1
#define HOST_MACOS_PROBE_ADJ 0
#define HOST_MACOS_ENABLED_ADJ 0
#define HOST_MACOS_CLEAR_BIT0 1
#define HOST_INSN_ALIGN A64_INSN
#else
#define HOST_HAS_LINUX_STUBS 0
#define HOST_MACOS_PROBE_ADJ 0
#define HOST_MACOS_ENABLED_ADJ 0
#define HOST_MACOS_CLEAR_BIT0 0
#define HOST_INSN_ALIGN 1
#endif

void usdt_dof_arch_info(struct dof_stub_info *info)
{
	info->has_code = HOST_HAS_LINUX_STUBS;
	info->macos_probe_adj = HOST_MACOS_PROBE_ADJ;
	info->macos_enabled_adj = HOST_MACOS_ENABLED_ADJ;
	info->macos_clear_bit0 = HOST_MACOS_CLEAR_BIT0;
	info->insn_align = HOST_INSN_ALIGN;
}

int usdt_dof_profile_geometry(usdt_dof_profile_t profile,
			      struct dof_stub_info *info)
{
	unsigned arch = usdt_dof_profile_arch(profile);
	memset(info, 0, sizeof *info);
	info->insn_align = 1;
	if (arch == USDT_DOF_ARCH_X86_64) {
		info->has_code = 1;
		info->macos_probe_adj = X86_MACOS_PROBE_ADJ;
		info->macos_enabled_adj = X86_MACOS_ENABLED_ADJ;
	} else if (arch == USDT_DOF_ARCH_ARM64) {
		/* xnu arm64: (base + off) & ~1, no other adjustment */
		info->has_code = 1;
		info->macos_clear_bit0 = 1;
		info->insn_align = A64_INSN;
	}
	return info->has_code ? 0 : -1;
}

size_t usdt_dof_stub_size(usdt_dof_profile_t profile)
{
	switch (usdt_dof_profile_arch(profile)) {
	case USDT_DOF_ARCH_X86_64: return X86_STUB_SIZE;
	case USDT_DOF_ARCH_ARM64: return A64_STUB_SIZE;
	default: return 0;
	}
}

static size_t emit_bytes(const uint8_t *code, size_t n, size_t site_off,
			 uint8_t *buf, size_t cap, size_t *site)
{
	if (cap < X86_STUB_SIZE) {
		errno = ENOSPC;
		return 0;
	}
	memcpy(buf, code, n);
	memset(buf + n, X86_PAD, X86_STUB_SIZE - n);
	*site = site_off;
	return X86_STUB_SIZE;
}

static void put_word(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

static uint32_t get_word(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static size_t emit_words(const uint32_t *code, size_t n, size_t site_off,
			 uint8_t *buf, size_t cap, size_t *site)
{
	if (cap < A64_STUB_SIZE) {
		errno = ENOSPC;
		return 0;
	}
	for (size_t i = 0; i < A64_STUB_SIZE / A64_INSN; i++)
		put_word(buf + A64_INSN * i, i < n ? code[i] : A64_PAD);
	*site = site_off;
	return A64_STUB_SIZE;
}

#define NWORDS(a) (sizeof (a) / sizeof (a)[0])

size_t usdt_dof_stub_probe(usdt_dof_profile_t profile, uint8_t *buf,
			   size_t cap, size_t *site)
{
	switch (usdt_dof_profile_arch(profile)) {
	case USDT_DOF_ARCH_X86_64:
		return emit_bytes(x86_probe, sizeof x86_probe, X86_PROBE_SITE,
				  buf, cap, site);
	case USDT_DOF_ARCH_ARM64:
		return emit_words(a64_probe, NWORDS(a64_probe), A64_PROBE_SITE,
				  buf, cap, site);
	default:
		errno = ENOTSUP;
		return 0;
	}
}

size_t usdt_dof_stub_isenabled(usdt_dof_profile_t profile, uint8_t *buf,
			       size_t cap, size_t *site)
{
	int linux_v3 = usdt_dof_profile_os(profile) == USDT_DOF_LINUX;
	switch (usdt_dof_profile_arch(profile)) {
	case USDT_DOF_ARCH_X86_64:
		if (linux_v3)
			return emit_bytes(x86_enabled_arg, sizeof x86_enabled_arg,
					  X86_ENABLED_ARG_SITE, buf, cap, site);
		return emit_bytes(x86_enabled_rv, sizeof x86_enabled_rv,
				  X86_ENABLED_RV_SITE, buf, cap, site);
	case USDT_DOF_ARCH_ARM64:
		if (linux_v3)
			return emit_words(a64_enabled_arg, NWORDS(a64_enabled_arg),
					  A64_ENABLED_ARG_SITE, buf, cap, site);
		return emit_words(a64_enabled_rv, NWORDS(a64_enabled_rv),
				  A64_ENABLED_RV_SITE, buf, cap, site);
	default:
		errno = ENOTSUP;
		return 0;
	}
}

/* p points at the site; `before` bytes before it are readable. */
static int ends_with(const uint8_t *p, size_t before, const uint8_t *seq,
		     size_t n)
{
	return before >= n && memcmp(p - n, seq, n) == 0;
}

static int x86_site_ok(int os, int isenabled, const uint8_t *p,
		       size_t before, size_t after)
{
	if (after < 1)
		return 0;
	if (!isenabled)
		return p[0] == X86_NOP;
	if (os == USDT_DOF_LINUX)
		return p[0] == X86_NOP && ends_with(p, before, x86_mov_rdi_rsp,
						    sizeof x86_mov_rdi_rsp);
	/* on the xor itself, or on the nop right after it */
	if (after >= sizeof x86_xor_rax &&
	    memcmp(p, x86_xor_rax, sizeof x86_xor_rax) == 0)
		return 1;
	if (after >= sizeof x86_xor_eax &&
	    memcmp(p, x86_xor_eax, sizeof x86_xor_eax) == 0)
		return 1;
	return p[0] == X86_NOP &&
	       (ends_with(p, before, x86_xor_rax, sizeof x86_xor_rax) ||
		ends_with(p, before, x86_xor_eax, sizeof x86_xor_eax));
}

static int a64_site_ok(int os, int isenabled, const uint8_t *p,
		       size_t before, size_t after)
{
	if (after < A64_INSN)
		return 0;
	uint32_t w = get_word(p);
	if (!isenabled)
		return w == A64_NOP;
	if (os == USDT_DOF_LINUX)   /* a nop with x0 = the flag's address */
		return w == A64_NOP && before >= A64_INSN &&
		       get_word(p - A64_INSN) == A64_MOV_X0_SP;
	/* xnu refuses any other word at a USDT site (fasttrap_tracepoint_init);
	 * it sets x0 = 1 and skips the movz */
	return w == A64_MOVZ_X0_0;
}

int usdt_dof_site_ok(int profile, int isenabled, const uint8_t *p,
		     size_t before, size_t after)
{
	usdt_dof_profile_t prof = (usdt_dof_profile_t)profile;
	int os = (int)usdt_dof_profile_os(prof);
	switch (usdt_dof_profile_arch(prof)) {
	case USDT_DOF_ARCH_X86_64:
		return x86_site_ok(os, isenabled, p, before, after);
	case USDT_DOF_ARCH_ARM64:
		return a64_site_ok(os, isenabled, p, before, after);
	default:
		return 1;   /* no stub code known: nothing to compare */
	}
}
