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
#define USDT_ARCH_PAGE_SIZE 4096
#define USDT_ARCH_SITE_STRIDE 8
#define USDT_ARCH_SITE_FIRST_BYTE 0x0f
#define USDT_ARCH_NAME "x86_64"
/* A DTrace stub's tracepoint is a one-byte nop until DTrace probes it. */
#define USDT_ARCH_DTRACE_IDLE_BYTE 0x90

static inline int usdt_arch_site_idle(const uint8_t *site)
{
	return *(const volatile uint8_t *)site == USDT_ARCH_SITE_FIRST_BYTE;
}

#endif
