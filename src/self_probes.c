/*
 * self_probes.c — the `libusdt` provider compiled into libusdt (see
 * self_probes.h for what each probe carries and who uses them).
 *
 * Each probe site is the first instruction of a tiny function written in
 * top-level assembly, called with the C calling convention, so its
 * argument string is the ABI's argument locations — the same layout the
 * objects libusdt builds at run time use (arch/), which every tracer reads
 * exactly. The site is a 5-byte nop on x86 (the kernel optimises a uprobe
 * on it into a call) followed by a return.
 *
 * Architectures without a description here get no self probes (the fire
 * path still works; only system-wide tracing through libusdt:fire is
 * missing); the fast word is kept all the same.
 */
#include <stddef.h>
#include <stdint.h>

#include "self_probes.h"

/* The fast word and the provider events' semaphore, in .probes: the
 * section bpftrace, bcc and perf expect semaphores in. */
union usdt_fast_word usdt_fast __attribute__((section(".probes"), aligned(4))) = { .f = { 0, 1 } };
__attribute__((section(".probes"), aligned(2), visibility("hidden"))) volatile uint16_t usdt_self_provider_sem;

#if defined(__x86_64__)

/* site functions: (provider, probe, argc, nine words) and (provider,
 * module, nprobes, path) */
void usdt_self_fire_site(const char *, const char *, uint32_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t,
                         uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t) __attribute__((visibility("hidden")));
void usdt_self_enable_site(const char *, const char *, uint32_t, const char *) __attribute__((visibility("hidden")));
void usdt_self_disable_site(const char *, const char *, uint32_t, const char *) __attribute__((visibility("hidden")));

#define SELF_SITE(fn, name, sem, spec)                                                        \
	".pushsection .text\n"                                                                \
	".globl " fn "\n"                                                                     \
	".hidden " fn "\n"                                                                    \
	".type " fn ", @function\n"                                                           \
	".p2align 4\n" fn ":\n"                                                               \
	"990: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"                                            \
	"ret\n"                                                                               \
	".size " fn ", .-" fn "\n"                                                            \
	".popsection\n"                                                                       \
	".pushsection .note.stapsdt, \"\", \"note\"\n"                                         \
	".balign 4\n"                                                                         \
	".4byte 992f-991f, 994f-993f, 3\n"                                                    \
	"991: .asciz \"stapsdt\"\n"                                                           \
	"992: .balign 4\n"                                                                    \
	"993: .8byte 990b\n"                                                                  \
	".8byte _.stapsdt.base\n"                                                             \
	".8byte " sem "\n"                                                                    \
	".asciz \"libusdt\"\n"                                                                \
	".asciz \"" name "\"\n"                                                               \
	".asciz \"" spec "\"\n"                                                               \
	"994: .balign 4\n"                                                                    \
	".popsection\n"

__asm__(".ifndef _.stapsdt.base\n"
        ".pushsection .stapsdt.base, \"aG\", \"progbits\", .stapsdt.base, comdat\n"
        ".weak _.stapsdt.base\n"
        ".hidden _.stapsdt.base\n"
        "_.stapsdt.base: .space 1\n"
        ".size _.stapsdt.base, 1\n"
        ".popsection\n"
        ".endif\n"
        SELF_SITE("usdt_self_fire_site", "fire", "usdt_fast",
                  "8@%rdi 8@%rsi 4@%edx 8@%rcx 8@%r8 8@%r9 8@8(%rsp) 8@16(%rsp) 8@24(%rsp) "
                  "8@32(%rsp) 8@40(%rsp) 8@48(%rsp)")
        SELF_SITE("usdt_self_enable_site", "provider_enable", "usdt_self_provider_sem",
                  "8@%rdi 8@%rsi 4@%edx 8@%rcx")
        SELF_SITE("usdt_self_disable_site", "provider_disable", "usdt_self_provider_sem",
                  "8@%rdi 8@%rsi 4@%edx 8@%rcx"));

/* Keep the stack 16-byte aligned at the site's call like any C call. */
void usdt_self_fire(const char *provider, const char *probe, size_t argc, void *const *argv)
{
	uintptr_t w[9] = { 0 };
	for (size_t i = 0; i < argc && i < 9; i++)
		w[i] = argv != NULL ? (uintptr_t)argv[i] : 0;
	usdt_self_fire_site(provider, probe, (uint32_t)argc, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]);
}

void usdt_self_provider_event(int enabled, const char *provider, const char *module, size_t nprobes,
                              const char *path)
{
	if (__atomic_load_n(&usdt_self_provider_sem, __ATOMIC_RELAXED) == 0)
		return;
	if (enabled)
		usdt_self_enable_site(provider, module, (uint32_t)nprobes, path);
	else
		usdt_self_disable_site(provider, module, (uint32_t)nprobes, path);
}

#else /* no self probes on this architecture yet */

void usdt_self_fire(const char *provider, const char *probe, size_t argc, void *const *argv)
{
	(void)provider;
	(void)probe;
	(void)argc;
	(void)argv;
}

void usdt_self_provider_event(int enabled, const char *provider, const char *module, size_t nprobes,
                              const char *path)
{
	(void)enabled;
	(void)provider;
	(void)module;
	(void)nprobes;
	(void)path;
}

#endif
