/*
 * x86_64.h — x86_64 constants and the inline is-idle test of a probe site.
 *
 * Site layout (8 bytes): 0f 1f 44 00 00 (nopl 0x0(%rax,%rax,1)), c3 (ret),
 * cc cc. Sites start on 8-byte boundaries, so the nop never crosses a cache
 * line or a page: Linux 6.17+ then optimises a uprobe on it into a call to
 * a trampoline after the first hit (about 1.8x faster than the int3 path).
 * Each site is the first instruction of its own function, so the call's
 * write to [rsp-8] hits only that function's unused red zone.
 * A tracer that probes the site replaces its first byte with int3 (0xcc),
 * or with call (0xe8) once optimised; any first byte other than 0x0f means
 * "someone is attached", for tracers that do not count in the semaphore.
 */
#ifndef USDT_ARCH_X86_64_H
#define USDT_ARCH_X86_64_H

#include <elf.h>
#include <stdint.h>

#define USDT_ARCH_ELF_MACHINE EM_X86_64
#define USDT_ARCH_ELF_CLASS ELFCLASS64
#define USDT_ARCH_PAGE_SIZE 4096
#define USDT_ARCH_SITE_STRIDE 8
#define USDT_ARCH_SITE_FIRST_BYTE 0x0f
#define USDT_ARCH_NAME "x86_64"
/*
 * The GNU property every generated object carries (elf_image.c writes it
 * as .note.gnu.property + PT_GNU_PROPERTY): X86_FEATURE_1_AND = SHSTK.
 *
 * Shadow stacks (CET SHSTK): glibc with shadow stacks enforced refuses to
 * dlopen() an object without this mark (permissive mode turns shadow stacks
 * off for the whole process instead). All code in the object is
 * shadow-stack correct, so the mark is always written, whether or not the
 * running process has shadow stacks (without them it is ignored):
 *   - a site is `nop5; ret`, entered by a `call` (usdt_arch_call in
 *     x86_64_call.S: push %rbp; ...; call *%r11; leave; ret), so every ret
 *     returns to the address its call pushed;
 *   - the DTrace probe stub (src/dof/dof_stub.c) pops its return address
 *     into %r11 and pushes the same value back before `ret`, and the
 *     is-enabled stub pushes and pops a flag: the return address the `ret`
 *     consumes is always the one on the shadow stack.
 * Indirect branch tracking (CET IBT) is NOT claimed: a site is reached by
 * an indirect call and does not start with endbr64 (its first byte is the
 * nop tracers replace, and endbr64 + nop5 + ret would not fit the 8-byte
 * stride); under enforced IBT the call would fault, so the object must not
 * say it is IBT-ready. Linux has no user-space IBT today; if it comes, the
 * sites need an endbr64 first and the idle test above a new first byte.
 */
#ifndef GNU_PROPERTY_X86_FEATURE_1_AND        /* elf.h before glibc 2.28 */
#define GNU_PROPERTY_X86_FEATURE_1_AND 0xc0000002
#define GNU_PROPERTY_X86_FEATURE_1_IBT (1U << 0)
#define GNU_PROPERTY_X86_FEATURE_1_SHSTK (1U << 1)
#endif
#define USDT_ARCH_GNU_PROPERTY_TYPE GNU_PROPERTY_X86_FEATURE_1_AND
#define USDT_ARCH_GNU_PROPERTY_VALUE GNU_PROPERTY_X86_FEATURE_1_SHSTK

/* A DTrace stub's tracepoint is a one-byte nop until DTrace probes it. */
#define USDT_ARCH_DTRACE_IDLE_BYTE 0x90

static inline int usdt_arch_site_idle(const uint8_t *site)
{
	return *(const volatile uint8_t *)site == USDT_ARCH_SITE_FIRST_BYTE;
}

static inline int usdt_arch_dtrace_idle(const uint8_t *tp)
{
	return *(const volatile uint8_t *)tp == USDT_ARCH_DTRACE_IDLE_BYTE;
}

#endif
