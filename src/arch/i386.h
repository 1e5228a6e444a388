/*
 * i386.h — i386 (ILP32, cdecl) constants and the inline is-idle test of a
 * probe site, for arch.h's seam (elf_image.c builds an ELFCLASS32 object
 * with them; usdt.c's fast path calls usdt_arch_site_idle()). Also
 * included by i386_call.S for the argument block's layout.
 *
 * Site layout (8 bytes) is x86_64's: 0f 1f 44 00 00 (nopl 0x0(%eax,%eax,1),
 * a P6 instruction every i686 has), c3 (ret), cc cc. A tracer replaces the
 * first byte with int3 (0xcc); any first byte other than 0x0f means
 * "someone is attached". (Linux optimises uprobes on nop5 only on x86_64.)
 *
 * Arguments. Every argument travels as one 32-bit word (void *), and cdecl
 * passes them all on the stack. A tracer reads a register spec such as
 * "-8@%esi" as the register's 32 bits only (measured with bpftrace), so a
 * 64-bit argument must be in memory. usdt_arch_call (i386_call.S) builds,
 * below the return address the site sees, one block with three views of
 * the USDT_ARG_MAX words:
 *   4(%esp) + 4*i                 word i, as a C call would pass it
 *   4(%esp) + I386_SEXT_OFF + 8*i word i sign-extended to 64 bits
 *   4(%esp) + I386_ZEXT_OFF + 8*i word i zero-extended to 64 bits
 * and the note reads 1-, 2- and 4-byte arguments from the first view and
 * 8-byte ones (int64_t, uint64_t, long long) from the second or third by
 * their signedness, so a tracer reads all 64 bits: the value the word
 * carries, extended as its declared type says.
 */
#ifndef USDT_ARCH_I386_H
#define USDT_ARCH_I386_H

#define I386_MAX_WORDS 32            /* USDT_ARG_MAX */
#define I386_SEXT_OFF (4 * I386_MAX_WORDS)
#define I386_ZEXT_OFF (I386_SEXT_OFF + 8 * I386_MAX_WORDS)
#define I386_BLOCK_SIZE (I386_ZEXT_OFF + 8 * I386_MAX_WORDS)

#ifndef __ASSEMBLER__
#include <elf.h>
#include <stdint.h>

#define USDT_ARCH_NAME "i386"
#define USDT_ARCH_ELF_MACHINE EM_386
#define USDT_ARCH_ELF_CLASS ELFCLASS32
#define USDT_ARCH_PAGE_SIZE 4096
#define USDT_ARCH_SITE_STRIDE 8
#define USDT_ARCH_SITE_FIRST_BYTE 0x0f

/*
 * The GNU property: X86_FEATURE_1_AND with no feature claimed. Linux has
 * no user-space shadow stack or IBT for 32-bit processes, and ld writes
 * no mark for objects built without -fcf-protection; an empty AND keeps
 * the object's layout the same as on the other architectures.
 */
#ifndef GNU_PROPERTY_X86_FEATURE_1_AND        /* elf.h before glibc 2.28 */
#define GNU_PROPERTY_X86_FEATURE_1_AND 0xc0000002
#endif
#define USDT_ARCH_GNU_PROPERTY_TYPE GNU_PROPERTY_X86_FEATURE_1_AND
#define USDT_ARCH_GNU_PROPERTY_VALUE 0

/* A DTrace stub's tracepoint byte (no DTrace stubs on i386: dof_stub.c). */
#define USDT_ARCH_DTRACE_IDLE_BYTE 0x90

_Static_assert(I386_MAX_WORDS == 32, "the argument block holds USDT_ARG_MAX words");

static inline int usdt_arch_site_idle(const uint8_t *site)
{
	return *(const volatile uint8_t *)site == USDT_ARCH_SITE_FIRST_BYTE;
}

static inline int usdt_arch_dtrace_idle(const uint8_t *tp)
{
	return *(const volatile uint8_t *)tp == USDT_ARCH_DTRACE_IDLE_BYTE;
}
#endif

#endif
