/*
 * reader.h — keeping probe code mapped while another thread may run it.
 *
 * usdt_fire_probe() and usdt_is_enabled() read a probe's binding (site and
 * semaphore addresses inside a loaded ELF object) and may call the site,
 * while another thread disables the provider and unmaps that object. They
 * must stay a few nanoseconds, so they take no lock and execute no fence.
 *
 * The scheme is a user-space RCU with asymmetric barriers (like liburcu's
 * "memb" flavour). Each thread that fires owns a reader slot whose sequence
 * number is odd while the thread is inside a read section. A writer
 * (disable, rebuild, free) first unpublishes the bindings (stores NULL or a
 * new binding into usdt_probe_t._live), then starts a grace period
 * (usdt_grace_begin): membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) forces a
 * full memory barrier on every thread of the process, after which every
 * thread either has left its read section or started it late enough to see
 * the new pointer; the writer records the slots that were inside (odd) and
 * the grace period is over once each of them has moved on
 * (usdt_grace_poll). The writer never blocks on a reader: usdt.c unloads the
 * old object at once when the grace period is already over (the common
 * case) and otherwise hides it from tracers and unloads it at a later
 * management call (see usdt.c, "retiring objects").
 *
 * Async-signal safety. A signal handler may fire on a thread that is in the
 * middle of anything libusdt does, so nothing a reader does takes a lock or
 * waits for one:
 *   - slots live in chunks obtained with mmap() and are claimed with a
 *     compare-and-swap; a thread claims one on its first fire (with every
 *     signal blocked for those few instructions) and gives it back from a
 *     pthread key destructor at thread exit. If the key cannot be created
 *     or set, the slot is simply kept (64 bytes per such thread): a slot is
 *     never freed, so a writer can always read it;
 *   - a section nested in a handler that interrupted a section of the same
 *     thread leaves the outer one in charge (odd seq: nothing to do);
 *   - there is no lazy initialisation on the fire path: the library's
 *     constructor sets up membarrier, and until it has run readers fence.
 *
 * Without membarrier (old kernels, or seccomp: also when it starts failing
 * after start-up), readers fall back to a real fence
 * (usdt_reader_fencing()) and the writer to a barrier of its own
 * (reader.c, fallback_barrier).
 */
#ifndef USDT_READER_H
#define USDT_READER_H

#include "self_probes.h"
#include "usdt_internal.h"

/* Size of one reader slot: a cache line, so that threads never share one. */
#define USDT_READER_SLOT_SIZE 64

struct usdt_reader {
	unsigned long seq;     /* even = outside, odd = inside a section (atomic) */
	int owned;             /* 1 while a thread owns the slot (atomic) */
	char pad_[USDT_READER_SLOT_SIZE - sizeof(unsigned long) - sizeof(int)];
};

/* The calling thread's slot, or NULL before its first fire: 8 bytes of
 * initial-exec TLS, all the fast path needs. */
extern __thread struct usdt_reader *usdt_tls_reader __attribute__((tls_model("initial-exec")));
/* Readers must fence (no working membarrier, or not set up yet): the
 * `fence` half of the fast word (self_probes.h), which also carries
 * libusdt:fire's semaphore, so that the fast path tests both at once. */
#define usdt_reader_fencing() (__atomic_load_n(&usdt_fast.f.fence, __ATOMIC_RELAXED) != 0)

/* Claim a slot for the calling thread (lock-free, async-signal-safe).
 * Returns it, or NULL if no memory could be mapped (then the caller does
 * nothing: a probe that cannot be read safely is not fired). */
USDT_HIDDEN struct usdt_reader *usdt_reader_register(void);

/* ---------------------------------------------------------- grace periods */

/* Readers found inside a section when a grace period began. */
struct usdt_grace {
	size_t n, cap;
	struct usdt_grace_wait {
		const struct usdt_reader *slot;
		unsigned long seq;
	} *wait;
	struct usdt_grace_wait inline_[4];
};

/* Start a grace period for bindings unpublished before this call. Never
 * fails: if it cannot record the readers (out of memory) it waits for
 * them instead. */
USDT_HIDDEN void usdt_grace_begin(struct usdt_grace *g);
/* 1 once every reader recorded by usdt_grace_begin() has left the section
 * it was in; 0 while one has not. `spins` extra polls are allowed (cheap
 * on a multi-core machine when a reader is about to leave). */
USDT_HIDDEN int usdt_grace_poll(struct usdt_grace *g, unsigned spins);
/* Release the record (the grace period need not be over). */
USDT_HIDDEN void usdt_grace_end(struct usdt_grace *g);

#if defined(__SANITIZE_THREAD__)
#define USDT_READER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USDT_READER_TSAN 1
#endif
#endif

/* The fast paths:
 *
 *     struct usdt_reader *r = usdt_tls_reader;
 *     if (r == NULL) -> out of line: r = usdt_reader_register(), start over
 *     unsigned long next = usdt_reader_enter(r);
 *     ... load probe->_live, use the binding ...
 *     usdt_reader_exit(r, next);
 *
 * usdt_reader_enter() returns the value usdt_reader_exit() must store. A
 * nested section (a signal handler firing while the interrupted code was
 * inside one) finds seq odd: it then stores the same odd value twice and
 * leaves the outer section in charge. Branch-free: seq | 1 is s + 1 for an
 * even s and s itself for an odd one. */
static inline __attribute__((always_inline)) unsigned long usdt_reader_enter_word(struct usdt_reader *r,
                                                                                 uint32_t *word)
{
	unsigned long s = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&r->seq, s | 1, __ATOMIC_RELAXED);
	uint32_t w = __atomic_load_n(&usdt_fast.word, __ATOMIC_RELAXED);
#ifdef USDT_READER_TSAN
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#else
	if (USDT_UNLIKELY(w & USDT_FAST_FENCE_MASK))
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
	*word = w;
	return s + 2 - ((s & 1) << 1);
}

static inline __attribute__((always_inline)) unsigned long usdt_reader_enter(struct usdt_reader *r)
{
	uint32_t w;
	return usdt_reader_enter_word(r, &w);
}

static inline __attribute__((always_inline)) void usdt_reader_exit(struct usdt_reader *r, unsigned long next)
{
	__atomic_store_n(&r->seq, next, __ATOMIC_RELEASE);
}

/* For code outside the fast paths (tests standing in for a thread stopped
 * inside a probe): a whole read section. */
struct usdt_read_section {
	struct usdt_reader *r;
	unsigned long next;
};

static inline void usdt_reader_begin(struct usdt_read_section *rs)
{
	rs->r = usdt_tls_reader;
	if (rs->r == NULL)
		rs->r = usdt_reader_register();
	if (rs->r != NULL)
		rs->next = usdt_reader_enter(rs->r);
}

static inline void usdt_reader_end(struct usdt_read_section *rs)
{
	if (rs->r != NULL)
		usdt_reader_exit(rs->r, rs->next);
}

#endif
