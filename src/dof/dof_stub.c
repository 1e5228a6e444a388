/*
 * dof_stub.c — the only place that knows machine code for DTrace
 * tracepoints (dof.md §12): the probe-site and is-enabled-site stubs per
 * profile, the x86-64 macOS offset adjustments, and the recognition of a
 * valid tracepoint used by the validator's address checks (checklist 55).
 *
 * x86-64 stubs:
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
 * nothing a caller relies on. Stubs are padded with int3 to 16 bytes.
 */
#include <errno.h>
#include <string.h>

#include "dof/dof.h"
#include "dof/dof_format.h"

#if defined(__x86_64__)
#define HAVE_STUBS 1
static const uint8_t probe_stub[] = {
	0x41, 0x5b, 0x90, 0x90, 0x90, 0x90, 0x90, 0x41, 0x53, 0xc3
};
#define PROBE_SITE 2
static const uint8_t enabled_rv_stub[] = { 0x48, 0x33, 0xc0, 0x90, 0x90, 0xc3 };
#define ENABLED_RV_SITE 3
static const uint8_t enabled_arg_stub[] = {
	0x6a, 0x00, 0x48, 0x89, 0xe7, 0x90, 0x90, 0x90, 0x90, 0x90, 0x58, 0xc3
};
#define ENABLED_ARG_SITE 5
static const uint8_t xor_rax[] = { 0x48, 0x33, 0xc0 };
static const uint8_t xor_eax[] = { 0x33, 0xc0 };
static const uint8_t mov_rdi_rsp[] = { 0x48, 0x89, 0xe7 };
#define NOP 0x90
#define PAD 0xcc
/* xnu (x86-64) subtracts 1 from probe offsets and adds 2 to is-enabled
 * offsets before adding the base (dof.md §12.1). */
#define MACOS_PROBE_ADJ 1
#define MACOS_ENABLED_ADJ (-2)
#else
#define HAVE_STUBS 0
#define MACOS_PROBE_ADJ 0
#define MACOS_ENABLED_ADJ 0
#endif

void usdt_dof_arch_info(struct dof_stub_info *info)
{
	info->has_code = HAVE_STUBS;
	info->macos_probe_adj = MACOS_PROBE_ADJ;
	info->macos_enabled_adj = MACOS_ENABLED_ADJ;
}

#if HAVE_STUBS
static size_t emit(const uint8_t *code, size_t n, size_t site_off,
		   uint8_t *buf, size_t cap, size_t *site)
{
	if (cap < USDT_DOF_STUB_MAX) {
		errno = ENOSPC;
		return 0;
	}
	memcpy(buf, code, n);
	memset(buf + n, PAD, USDT_DOF_STUB_MAX - n);
	*site = site_off;
	return USDT_DOF_STUB_MAX;
}
#endif

size_t usdt_dof_stub_probe(usdt_dof_profile_t profile, uint8_t *buf,
			   size_t cap, size_t *site)
{
	(void)profile;
#if HAVE_STUBS
	return emit(probe_stub, sizeof probe_stub, PROBE_SITE, buf, cap, site);
#else
	(void)buf; (void)cap; (void)site;
	errno = ENOTSUP;
	return 0;
#endif
}

size_t usdt_dof_stub_isenabled(usdt_dof_profile_t profile, uint8_t *buf,
			       size_t cap, size_t *site)
{
#if HAVE_STUBS
	if (profile == USDT_DOF_LINUX)
		return emit(enabled_arg_stub, sizeof enabled_arg_stub,
			    ENABLED_ARG_SITE, buf, cap, site);
	return emit(enabled_rv_stub, sizeof enabled_rv_stub, ENABLED_RV_SITE,
		    buf, cap, site);
#else
	(void)profile; (void)buf; (void)cap; (void)site;
	errno = ENOTSUP;
	return 0;
#endif
}

#if HAVE_STUBS
/* p points at the site; `before` bytes before it and `after` bytes from it
 * are readable. */
static int ends_with(const uint8_t *p, size_t before, const uint8_t *seq,
		     size_t n)
{
	return before >= n && memcmp(p - n, seq, n) == 0;
}
#endif

int usdt_dof_site_ok(int profile, int isenabled, const uint8_t *p,
		     size_t before, size_t after)
{
#if HAVE_STUBS
	if (after < 1)
		return 0;
	if (!isenabled)
		return p[0] == NOP;
	if (profile == USDT_DOF_LINUX)
		return p[0] == NOP && ends_with(p, before, mov_rdi_rsp,
						sizeof mov_rdi_rsp);
	/* on the xor itself, or on the nop right after it */
	if (after >= sizeof xor_rax && memcmp(p, xor_rax, sizeof xor_rax) == 0)
		return 1;
	if (after >= sizeof xor_eax && memcmp(p, xor_eax, sizeof xor_eax) == 0)
		return 1;
	return p[0] == NOP && (ends_with(p, before, xor_rax, sizeof xor_rax) ||
			       ends_with(p, before, xor_eax, sizeof xor_eax));
#else
	(void)profile; (void)isenabled; (void)p; (void)before; (void)after;
	return 1;
#endif
}
