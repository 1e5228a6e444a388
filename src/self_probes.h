/*
 * self_probes.h — the `libusdt` provider: USDT probes compiled into
 * libusdt itself, so that one tracer attached to the library file traces
 * the runtime probes of every process that uses it (system-wide, including
 * processes started later), and follows providers appearing and going.
 *
 *   libusdt:fire              fired by usdt_fire_probe() for every runtime
 *                             probe, only while libusdt:fire is traced:
 *                             arg0 provider (char *), arg1 probe name as
 *                             Linux tracers show it (char *), arg2 argc
 *                             (uint32), arg3..arg11 the first nine
 *                             arguments as 64-bit words (0 past argc)
 *   libusdt:provider_enable   arg0 provider (char *), arg1 module (char *),
 *   libusdt:provider_disable  arg2 number of probes (uint32), arg3 the path
 *                             tracers use for the object (char *, e.g.
 *                             /proc/PID/fd/N)
 *
 * The notes are written by the assembler at build time, in the
 * <sys/sdt.h> format (no build or run-time dependency on it): a
 * `.note.stapsdt` entry per probe with the site address, the address of
 * `_.stapsdt.base` (a one-byte `.stapsdt.base` section, so tracers can
 * correct for prelink-style moves) and the semaphore's address; the
 * argument string is produced by the compiler from asm operands ("8@%rdi",
 * "4@16(%rsp)", "8@x3", "8@[sp, 16]" ...), which is how sys/sdt.h gets
 * the right spelling for every architecture. The semaphores live in
 * `.probes`, which bpftrace, perf and bcc find and the kernel increments
 * (uprobe reference counters) while a tracer is attached.
 *
 * The fast path pays nothing for this: libusdt:fire's semaphore shares a
 * 32-bit word with the reader's "must fence" flag (reader.h), which the
 * fast path loads anyway; one test of that word covers both.
 */
#ifndef USDT_SELF_PROBES_H
#define USDT_SELF_PROBES_H

#include <stdint.h>

#include "usdt_internal.h"

/* The word the fast path loads once per section. Little-endian layout on
 * every supported architecture: the semaphore is its low 16 bits. */
union usdt_fast_word {
	uint32_t word;
	struct {
		uint16_t fire_sem;       /* libusdt:fire's semaphore (kernel-updated) */
		uint16_t fence;          /* readers must fence (reader.c) */
	} f;
};
#define USDT_FAST_FIRE_MASK 0x0000ffffu
#define USDT_FAST_FENCE_MASK 0xffff0000u

extern union usdt_fast_word usdt_fast __attribute__((visibility("hidden")));

/* libusdt:fire for one fire of a runtime probe (called only when its
 * semaphore is set). `provider` and `probe` are the Linux names. */
USDT_HIDDEN void usdt_self_fire(const char *provider, const char *probe, size_t argc, void *const *argv);
/* libusdt:provider_enable / provider_disable (no-ops when untraced). */
USDT_HIDDEN void usdt_self_provider_event(int enabled, const char *provider, const char *module, size_t nprobes,
                                          const char *path);

#endif
