/*
 * reader.c — reader slots (claimed lock-free, given back at thread exit),
 * the writer's grace periods, and the barriers they rely on (see reader.h
 * for the scheme and why it is correct).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include "fork.h"
#include "reader.h"

/* Slots per chunk: one page of 64-byte slots, minus the chunk header. */
#define SLOTS_PER_CHUNK 63

struct chunk {
	struct chunk *next;                 /* immutable once published */
	char pad_[USDT_READER_SLOT_SIZE - sizeof(struct chunk *)];
	struct usdt_reader slots[SLOTS_PER_CHUNK];
};

__thread struct usdt_reader *usdt_tls_reader __attribute__((tls_model("initial-exec")));
/* Readers fence until the constructor has set membarrier up: the fence
 * half of usdt_fast starts at 1 (self_probes.c). */

static struct chunk *chunks;            /* push-only list (atomic head) */
static pthread_key_t exit_key;
static int key_created;
static int membarrier_cmd;              /* 0 = none (readers fence), else the command */

/* ---------------------------------------------------------------- slots */

static struct usdt_reader *claim_in(struct chunk *c)
{
	for (int i = 0; i < SLOTS_PER_CHUNK; i++) {
		struct usdt_reader *r = &c->slots[i];
		int zero = 0;
		if (__atomic_load_n(&r->owned, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&r->owned, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return r;
	}
	return NULL;
}

static struct usdt_reader *claim(void)
{
	for (struct chunk *c = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); c != NULL; c = c->next) {
		struct usdt_reader *r = claim_in(c);
		if (r != NULL)
			return r;
	}
	/* every slot taken: map a new chunk (mmap is async-signal-safe,
	 * malloc is not), take its first slot, publish it */
	struct chunk *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	c->slots[0].owned = 1;
	struct chunk *head = __atomic_load_n(&chunks, __ATOMIC_RELAXED);
	do
		c->next = head;
	while (!__atomic_compare_exchange_n(&chunks, &head, c, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return &c->slots[0];
}

/* Thread exit: give the slot back. The thread is outside any section
 * (its seq is even), so a writer that recorded it has seen it move on. */
static void release_at_exit(void *arg)
{
	struct usdt_reader *r = arg;
	if (usdt_tls_reader == r)
		usdt_tls_reader = NULL;
	__atomic_store_n(&r->owned, 0, __ATOMIC_RELEASE);
}

struct usdt_reader *usdt_reader_register(void)
{
	sigset_t all, old;
	sigfillset(&all);
	/* A handler that fired in the middle would claim a second slot and
	 * lose one of the two: block signals for these few instructions. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	struct usdt_reader *r = usdt_tls_reader;
	if (r == NULL && (r = claim()) != NULL) {
		usdt_tls_reader = r;
		/* without a key the slot is kept at thread exit (reader.h) */
		if (__atomic_load_n(&key_created, __ATOMIC_ACQUIRE))
			(void)pthread_setspecific(exit_key, r);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* In the child only the forking thread exists: every other slot is given
 * back (its thread is gone, possibly mid-section, so its seq is made even). */
void usdt_reader_fork_child(void)
{
	for (struct chunk *c = chunks; c != NULL; c = c->next)
		for (int i = 0; i < SLOTS_PER_CHUNK; i++) {
			struct usdt_reader *r = &c->slots[i];
			if (r == usdt_tls_reader)
				continue;
			r->seq = (r->seq + 1) & ~1ul;
			r->owned = 0;
		}
}

/* ------------------------------------------------------------- barriers */

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

__attribute__((constructor)) static void reader_init(void)
{
	if (pthread_key_create(&exit_key, release_at_exit) == 0)
		__atomic_store_n(&key_created, 1, __ATOMIC_RELEASE);
	long cmds = membarrier(MEMBARRIER_CMD_QUERY);
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		membarrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	else if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL))
		membarrier_cmd = MEMBARRIER_CMD_GLOBAL;
	if (membarrier_cmd != 0)
		__atomic_store_n(&usdt_fast.f.fence, 0, __ATOMIC_SEQ_CST);
}

/* libusdt.so unloaded with dlclose() (a Node worker that loaded an addon,
 * Python ctypes): the thread-exit destructor would run in unmapped code, so
 * delete the key. The slots stay mapped (a few pages). */
__attribute__((destructor)) static void reader_unload(void)
{
	if (__atomic_exchange_n(&key_created, 0, __ATOMIC_ACQ_REL))
		pthread_key_delete(exit_key);
}

/*
 * A barrier on every thread of the process without membarrier: changing
 * the protection of a page this process has touched makes the kernel
 * shoot down its TLB entry on every CPU that runs one of our threads, by
 * interrupt, and an interrupt is a full barrier on that CPU (a preempted
 * thread passed one in its context switch). This is the fallback folly's
 * asymmetric heavy barrier uses. Readers fence from now on anyway; this
 * covers those that entered a section unfenced before they could see it.
 */
static void fallback_barrier(void)
{
	static volatile char *page;
	if (page == NULL) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			goto yield;
		(void)mlock(p, 4096);
		page = p;
	}
	if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE) == 0) {
		*page = 1;      /* dirty and present, so the shoot-down happens */
		if (mprotect((void *)page, 4096, PROT_READ) == 0)
			return;
	}
yield:
	/* no page either: every other thread has to be descheduled at least
	 * once; a yield per CPU is the best we can still do */
	for (long i = sysconf(_SC_NPROCESSORS_ONLN); i > 0; i--)
		sched_yield();
}

/* The writer's side of the Dekker pattern: after this, every reader's
 * section entry before it is visible, and every reader entering after it
 * sees what the writer stored before it. */
static void writer_barrier(void)
{
	int cmd = __atomic_load_n(&membarrier_cmd, __ATOMIC_RELAXED);
	if (cmd != 0 && membarrier(cmd) != 0) {
		/* membarrier stopped working (a seccomp filter installed after
		 * start-up): readers fence from now on, and this grace period
		 * uses the fallback for those already inside */
		__atomic_store_n(&membarrier_cmd, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&usdt_fast.f.fence, 1, __ATOMIC_SEQ_CST);
		cmd = 0;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (cmd == 0)
		fallback_barrier();
}

/* --------------------------------------------------------- grace periods */

static int record(struct usdt_grace *g, const struct usdt_reader *r, unsigned long seq)
{
	if (g->n == g->cap) {
		size_t cap = g->cap * 2;
		struct usdt_grace_wait *w = malloc(cap * sizeof *w);
		if (w == NULL)
			return -1;
		for (size_t i = 0; i < g->n; i++)
			w[i] = g->wait[i];
		if (g->wait != g->inline_)
			free(g->wait);
		g->wait = w;
		g->cap = cap;
	}
	g->wait[g->n].slot = r;
	g->wait[g->n].seq = seq;
	g->n++;
	return 0;
}

void usdt_grace_begin(struct usdt_grace *g)
{
	const struct usdt_reader *self = usdt_tls_reader;
	g->n = 0;
	g->cap = sizeof g->inline_ / sizeof g->inline_[0];
	g->wait = g->inline_;
	writer_barrier();
	for (struct chunk *c = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); c != NULL; c = c->next)
		for (int i = 0; i < SLOTS_PER_CHUNK; i++) {
			const struct usdt_reader *r = &c->slots[i];
			if (r == self)    /* our own section (a writer called from a handler) */
				continue;
			unsigned long s = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
			if ((s & 1) == 0)
				continue;
			if (record(g, r, s) != 0)         /* out of memory: wait here */
				while (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) == s)
					sched_yield();
		}
}

int usdt_grace_poll(struct usdt_grace *g, unsigned spins)
{
	for (;;) {
		size_t k = 0;
		for (size_t i = 0; i < g->n; i++)
			if (__atomic_load_n(&g->wait[i].slot->seq, __ATOMIC_ACQUIRE) == g->wait[i].seq)
				g->wait[k++] = g->wait[i];
		g->n = k;
		if (k == 0)
			return 1;
		if (spins-- == 0)
			return 0;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

void usdt_grace_end(struct usdt_grace *g)
{
	if (g->wait != g->inline_)
		free(g->wait);
	g->wait = g->inline_;
	g->n = 0;
}
