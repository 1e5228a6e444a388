/*
 * aarch64.h — aarch64 (little-endian, LP64) constants and the inline
 * is-idle test of a probe site, for arch.h's seam (elf_image.c builds the
 * object with them; usdt.c's fast path calls usdt_arch_site_idle()).
 *
 * Site layout (8 bytes): d503201f (nop), d65f03c0 (ret). A uprobe on the
 * nop replaces the word with BRK #0x5 (d42000a0, the kernel's
 * UPROBE_SWBP_INSN on arm64), GDB with BRK #0 (d4200000); any word other
 * than the nop means "someone is attached", for tracers that do not count
 * in the semaphore. The word is 4-aligned, so the kernel's 4-byte write is
 * seen whole by the 4-byte load below (the first byte, 0x1f, also tells
 * idle from BRK: include/usdt.h's inline check reads only that byte).
 *
 * Pages: arm64 kernels run 4 KiB, 16 KiB (Apple silicon under Asahi) or
 * 64 KiB pages (RHEL/Oracle Linux, some Ampere setups); ld.so refuses a
 * PT_LOAD whose p_align is below the running page size, so generated
 * objects are aligned to 64 KiB like ld's default max-page-size on arm64.
 *
 * Instruction cache: the object's code is written with write() into a
 * memfd and mapped executable by dlopen(), never written through an
 * executable mapping of ours. On arm64 the kernel makes a page's I-cache
 * coherent when it first maps it executable (set_pte_at ->
 * __sync_icache_dcache for a page not yet marked PG_dcache_clean), and
 * uprobes does its own maintenance when it writes BRK; so no
 * __builtin___clear_cache() is needed (nor would one in our address space
 * help: the file pages are what gets mapped).
 */
#ifndef USDT_ARCH_AARCH64_H
#define USDT_ARCH_AARCH64_H

#include <elf.h>
#include <stdint.h>

#define USDT_ARCH_NAME "aarch64"
#define USDT_ARCH_ELF_MACHINE EM_AARCH64
#define USDT_ARCH_ELF_CLASS ELFCLASS64
#define USDT_ARCH_PAGE_SIZE 65536
#define USDT_ARCH_SITE_STRIDE 8
#define USDT_ARCH_SITE_NOP 0xd503201fu
/* Argument registers of AAPCS64 (x0..x7); argument i >= 8 is read from
 * memory through USDT_AARCH64_STACK_REG, which the trampoline points at
 * the stack slots it filled (aarch64.c says why not sp). */
#define USDT_AARCH64_REG_ARGS 8
#define USDT_AARCH64_STACK_REG "x9"

/*
 * The GNU property (elf_image.c writes it): AARCH64_FEATURE_1_AND = GCS.
 * The guarded control stack (arm64's shadow stack) needs every ret to
 * return where its bl/blr came from: a site is `nop; ret` entered by blr
 * from usdt_arch_call (aarch64_call.S, a normal frame), so the mark is
 * always correct, and glibc with GCS enforced refuses objects without it.
 * BTI is NOT claimed: a site is reached by an indirect branch and starts
 * with the nop tracers replace, not `bti c`; an unmarked object's pages
 * are simply not guarded, so libusdt built with BTI may still call it.
 */
#ifndef GNU_PROPERTY_AARCH64_FEATURE_1_AND    /* elf.h before glibc 2.32 */
#define GNU_PROPERTY_AARCH64_FEATURE_1_AND 0xc0000000
#endif
#define USDT_AARCH64_FEATURE_1_GCS (1U << 2)
#define USDT_ARCH_GNU_PROPERTY_TYPE GNU_PROPERTY_AARCH64_FEATURE_1_AND
#define USDT_ARCH_GNU_PROPERTY_VALUE USDT_AARCH64_FEATURE_1_GCS

/* A DTrace stub's tracepoint (dof_stub.c: the probe stub's nop at +0, the
 * Linux is-enabled stub's nop at +8; dtrace_linux.c places the stubs in
 * 32-byte slots of the object, so both are 4-aligned) is a nop until
 * DTrace's uprobe replaces it with BRK #5; its first byte, and the whole
 * word, which usdt_arch_dtrace_idle() compares, as usdt_arch_site_idle()
 * does for a site. */
#define USDT_ARCH_DTRACE_IDLE_BYTE 0x1f

static inline int usdt_arch_site_idle(const uint8_t *site)
{
	return *(const volatile uint32_t *)(const void *)site == USDT_ARCH_SITE_NOP;
}

static inline int usdt_arch_dtrace_idle(const uint8_t *tp)
{
	return *(const volatile uint32_t *)(const void *)tp == USDT_ARCH_SITE_NOP;
}

#endif
