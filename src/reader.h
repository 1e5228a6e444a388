/*
 * reader.h — keeping probe code mapped while another thread may run it.
 *
 * usdt_fire_probe() and usdt_is_enabled() read a probe's binding (site and
 * semaphore addresses inside a loaded ELF object) and may call the site,
 * while another thread disables the provider and unmaps that object. They
 * must stay a few nanoseconds, so they take no lock and execute no fence.
 *
 * The scheme is a user-space RCU with asymmetric barriers (like liburcu's
 * "memb" flavour). Each thread that fires has a registered reader record
 * whose sequence number is odd while it is inside a read section. A writer
 * (disable, rebuild, free) first unpublishes the bindings (stores NULL or a
 * new binding into usdt_probe_t._live), then calls usdt_reader_synchronize():
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) forces a full memory barrier
 * on every thread of the process, after which every thread either has left
 * its read section or started it late enough to see the new pointer; the
 * writer waits until each reader that was inside has moved on, then frees.
 * Without membarrier (old kernels, seccomp), readers fall back to a real
 * fence (usdt_reader_fence_needed).
 *
 * Threads register on their first fire (a TLS flag check) and unregister at
 * thread exit. fork() is handled: the child keeps only its own record.
 */
#ifndef USDT_READER_H
#define USDT_READER_H

#include "usdt_internal.h"

struct usdt_reader {
	unsigned long seq;            /* 0 = unregistered; odd = inside (atomic) */
	struct usdt_reader *next, *prev;
};

extern __thread struct usdt_reader usdt_tls_reader __attribute__((tls_model("initial-exec")));
extern int usdt_reader_fence_needed;

/* Register the calling thread's record; returns its first even seq. */
USDT_HIDDEN unsigned long usdt_reader_register(struct usdt_reader *r);
/* Wait until no thread can still use a binding unpublished before this call. */
USDT_HIDDEN void usdt_reader_synchronize(void);

#if defined(__SANITIZE_THREAD__)
#define USDT_READER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USDT_READER_TSAN 1
#endif
#endif

/* The calling thread's sequence number: 0 means "not registered yet":
 * call usdt_reader_register() (out of line, so that the fast paths that
 * use these helpers need no stack frame) and start again. */
static inline __attribute__((always_inline)) unsigned long usdt_reader_seq(void)
{
	return __atomic_load_n(&usdt_tls_reader.seq, __ATOMIC_RELAXED);
}

/* Enter a read section, given a non-zero usdt_reader_seq(). Returns the
 * value usdt_reader_exit() must store, or 0 when this is a nested section
 * (a signal handler firing while the interrupted code was firing), which
 * leaves the outer one in charge. */
static inline __attribute__((always_inline)) unsigned long usdt_reader_enter(unsigned long s)
{
	if (USDT_UNLIKELY(s & 1))
		return 0;
	__atomic_store_n(&usdt_tls_reader.seq, s + 1, __ATOMIC_RELAXED);
#ifdef USDT_READER_TSAN
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#else
	if (USDT_UNLIKELY(__atomic_load_n(&usdt_reader_fence_needed, __ATOMIC_RELAXED)))
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
	return s + 2;
}

static inline __attribute__((always_inline)) void usdt_reader_exit(unsigned long next)
{
	if (USDT_LIKELY(next != 0))
		__atomic_store_n(&usdt_tls_reader.seq, next, __ATOMIC_RELEASE);
}

#endif
