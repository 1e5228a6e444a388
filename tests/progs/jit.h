/*
 * jit.h — a tiny JIT for the tests and benchmarks of usdt_vm.h: code
 * emitted at run time that inlines a libusdt probe's is-enabled check and
 * calls its site directly, as a language VM would. Code is written into a
 * private RW mapping which is then made RX (W^X), one mapping per compiled
 * version, so that a version can be unmapped on its own once no thread runs
 * it. The instructions are per architecture (jit_x86_64.h, jit_aarch64.h),
 * each providing:
 *   jit_emit_c_probe(b, info, checks)        void fn(int64_t, int32_t):
 *       fires a C-convention probe with the caller's own arguments
 *   jit_emit_located_probe(b, info, checks)  void fn(void *frame, int64_t acc):
 *       sets JIT_ACC_REG = acc and JIT_FRAME_REG = frame, as a VM keeps
 *       them, and calls the site of a probe whose arguments are located
 *       there (usdt_vm_create_probe), with nothing marshalled
 * JIT_ARCH is defined when the architecture has a JIT.
 */
#ifndef TEST_JIT_H
#define TEST_JIT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "usdt_vm.h"

#define JIT_CODE_SIZE 4096

struct jit_buf {
	uint8_t *p;
	size_t n;
};

static inline void jit_bytes(struct jit_buf *b, const void *bytes, size_t n)
{
	if (b->n + n > JIT_CODE_SIZE)
		abort();
	memcpy(b->p + b->n, bytes, n);
	b->n += n;
}

/* What an inlined check tests: the semaphore, the site's first byte, or
 * both (usdt_vm.h says which tracers each one sees). */
#define JIT_CHECK_SEM 1
#define JIT_CHECK_SITE 2

/* A fresh RW mapping to emit into; jit_seal() makes it RX. */
static inline int jit_open(struct jit_buf *b)
{
	void *p = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	b->p = p;
	b->n = 0;
	memset(p, 0xcc, JIT_CODE_SIZE);
	return 0;
}

/* W^X, then make the instruction cache see the new code (a no-op on
 * x86_64; on aarch64 the data and instruction caches are not coherent). */
static inline int jit_seal(struct jit_buf *b)
{
	if (mprotect(b->p, JIT_CODE_SIZE, PROT_READ | PROT_EXEC) != 0)
		return -1;
	__builtin___clear_cache((char *)b->p, (char *)b->p + b->n);
	return 0;
}


#if defined(__x86_64__)
#include "jit_x86_64.h"
#define JIT_ARCH "x86_64"
#elif defined(__aarch64__)
#include "jit_aarch64.h"
#define JIT_ARCH "aarch64"
#endif

#endif
