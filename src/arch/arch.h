/*
 * arch.h — the seam between the portable code and one CPU architecture.
 *
 * An architecture provides (in <arch>.h, <arch>.c and <arch>_call.S):
 *   USDT_ARCH_ELF_MACHINE       e_machine of the generated ELF objects
 *   USDT_ARCH_PAGE_SIZE         segment alignment of generated objects
 *   USDT_ARCH_SITE_STRIDE       bytes reserved per probe site
 *   usdt_arch_site_code[]       bytes of one site: a nop tracers probe,
 *                               then a return (padded to the stride)
 *   usdt_arch_site_idle(site)   1 if nobody has put a breakpoint on the site
 *   USDT_ARCH_GNU_PROPERTY_TYPE, _VALUE  the 4-byte GNU property every
 *                               generated object carries (x86_64: the
 *                               shadow-stack mark; aarch64: its
 *                               FEATURE_1_AND, BTI only with bti sites)
 *   usdt_arch_argspec()         the note argument string for a probe
 *   usdt_arch_call(site, n, argv) call a site with argv in the ABI's argument
 *                               registers and stack slots (assembly)
 * Adding aarch64 means adding aarch64.{h,c} and aarch64_call.S and one
 * #elif below; nothing else changes.
 */
#ifndef USDT_ARCH_H
#define USDT_ARCH_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include "arch/x86_64.h"
#else
#error "libusdt: unsupported architecture (x86_64 only for now; see src/arch/arch.h)"
#endif

extern const uint8_t usdt_arch_site_code[USDT_ARCH_SITE_STRIDE];

/* Write the stapsdt argument spec for `argc` arguments whose signed sizes
 * (-8..8, negative = signed) are in size[] into buf. Returns the length,
 * or -1 if it does not fit. */
int usdt_arch_argspec(char *buf, size_t buflen, size_t argc, const int8_t *size);

/* Call `site` with argv[0..argc) as arguments (argc <= USDT_ARG_MAX). */
void usdt_arch_call(const void *site, size_t argc, void *const *argv);

#endif
