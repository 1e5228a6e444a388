/*
 * arch.h — the seam between the portable code and one CPU architecture.
 *
 * An architecture provides (in <arch>.h, <arch>.c and <arch>_call.S):
 *   USDT_ARCH_NAME              its name (uname -m), for messages and tests
 *   USDT_ARCH_ELF_MACHINE       e_machine of the generated ELF objects
 *   USDT_ARCH_ELF_CLASS         ELFCLASS64 or ELFCLASS32: the generated
 *                               object's class; USDT_ELF(Ehdr) etc. below
 *                               pick the matching <elf.h> types, so the
 *                               ELF builder and the loader serve both
 *   USDT_ARCH_PAGE_SIZE         segment alignment of generated objects
 *   USDT_ARCH_SITE_STRIDE       bytes reserved per probe site
 *   usdt_arch_site_code[]       bytes of one site: a nop tracers probe,
 *                               then a return (padded to the stride)
 *   usdt_arch_site_idle(site)   1 if nobody has put a breakpoint on the site
 *   USDT_ARCH_GNU_PROPERTY_TYPE, _VALUE  the 4-byte GNU property every
 *                               generated object carries (x86_64: the
 *                               shadow-stack mark; aarch64: the guarded
 *                               control stack mark, no BTI; i386: none
 *                               claimed, an X86_FEATURE_1_AND of 0)
 *   USDT_ARCH_DTRACE_IDLE_BYTE  first byte of an untouched DTrace stub
 *                               tracepoint
 *   usdt_arch_dtrace_idle(tp)   1 if nobody has probed that tracepoint
 *                               (x86: the byte; aarch64: the nop word)
 *   usdt_arch_argspec()         the note argument string for a probe
 *   usdt_arch_call(site, n, argv) call a site with argv in the ABI's argument
 *                               registers and stack slots (assembly)
 *   usdt_arch_vm_regs[], usdt_arch_vm_operand()  the registers a VM may
 *                               name for its own argument locations
 *                               (usdt_vm.h) and their note operands
 * Adding an architecture means adding <arch>.{h,c} and <arch>_call.S and
 * one #elif below (and, for DTrace, its stubs in src/dof/dof_stub.c);
 * the ELF builder, the loader and the core take everything from here.
 * Supported: x86_64, aarch64 (little-endian), i386 (ILP32: every word and
 * pointer type is 4 bytes, see types.c; 64-bit types are read in full
 * from memory operands, see i386.c).
 */
#ifndef USDT_ARCH_H
#define USDT_ARCH_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include "arch/x86_64.h"
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#include "arch/aarch64.h"
#elif defined(__i386__)
#include "arch/i386.h"
#else
#error "libusdt: unsupported architecture (x86_64, aarch64 and i386 only; see src/arch/arch.h)"
#endif

#if USDT_ARCH_ELF_CLASS == ELFCLASS64
#define USDT_ELF(type) Elf64_##type
#define USDT_ELF_ST_INFO(bind, type) ELF64_ST_INFO(bind, type)
#elif USDT_ARCH_ELF_CLASS == ELFCLASS32
#define USDT_ELF(type) Elf32_##type
#define USDT_ELF_ST_INFO(bind, type) ELF32_ST_INFO(bind, type)
#else
#error "USDT_ARCH_ELF_CLASS must be ELFCLASS64 or ELFCLASS32"
#endif

extern const uint8_t usdt_arch_site_code[USDT_ARCH_SITE_STRIDE];

/* Write the stapsdt argument spec for `argc` arguments whose signed sizes
 * (-8..8, negative = signed) are in size[] into buf. Returns the length,
 * or -1 if it does not fit. */
int usdt_arch_argspec(char *buf, size_t buflen, size_t argc, const int8_t *size);

/* Call `site` with argv[0..argc) as arguments (argc <= USDT_ARG_MAX). */
void usdt_arch_call(const void *site, size_t argc, void *const *argv);

/* VM-chosen argument locations (usdt_vm.h): the full-width general
 * registers a note operand may name, in the architecture's own spelling
 * ("rbx", "x19"). */
extern const char *const usdt_arch_vm_regs[];
extern const size_t usdt_arch_vm_nregs;
/* Write the note operand of an argument of signed size `size` (-8..8) held
 * in register `reg` (one of usdt_arch_vm_regs) or, when deref, in memory
 * at reg + offset: "-4@%rbx", "8@16(%r12)", "-2@[x19, -8]". Returns the
 * length, or -1 if it does not fit or the register cannot hold that size
 * (an 8-byte value in an i386 register). */
int usdt_arch_vm_operand(char *buf, size_t buflen, int size, const char *reg, int deref, int32_t offset);

#endif
