/*
 * jit_x86_64.h — the x86_64 half of the test JIT (tests/progs/jit.h): the
 * code a language VM would generate around a libusdt probe whose addresses
 * it inlined (usdt_vm.h):
 *
 *     movabs $site, %rax ; cmpb $IDLE, (%rax) ; jne call   (and/or the
 *     ...untraced path...                                   semaphore)
 *   call: jmp/call *%rax
 *
 * The located probe keeps the VM's accumulator in %rbx and its frame in
 * %r12 (callee-saved, as an interpreter's registers would be).
 */
#ifndef TEST_JIT_X86_64_H
#define TEST_JIT_X86_64_H

#define JIT_ACC_REG "rbx"
#define JIT_FRAME_REG "r12"

#define JIT_EMIT(b, ...) do { const uint8_t x_[] = { __VA_ARGS__ }; jit_bytes((b), x_, sizeof x_); } while (0)

static inline void jit_movabs_rax(struct jit_buf *b, const volatile void *imm)
{
	uint64_t v = (uint64_t)(uintptr_t)imm;
	JIT_EMIT(b, 0x48, 0xb8);
	jit_bytes(b, &v, 8);
}

/* A forward jne rel8 whose target is patched later: returns its offset. */
static inline size_t jit_jne(struct jit_buf *b)
{
	JIT_EMIT(b, 0x75, 0x00);
	return b->n - 1;
}

static inline void jit_patch(struct jit_buf *b, size_t at, size_t target)
{
	long rel = (long)target - (long)(at + 1);
	if (rel < -128 || rel > 127)
		abort();
	b->p[at] = (uint8_t)(int8_t)rel;
}

/* The inline check. Leaves up to two jne's to patch (0 when unused):
 * to_traced expects %rax to be reloaded with the site, to_call has %rax =
 * site already. */
static inline void jit_check(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks, size_t *to_traced,
                             size_t *to_call)
{
	*to_traced = *to_call = 0;
	if (checks & JIT_CHECK_SEM) {
		jit_movabs_rax(b, pi->semaphore);
		JIT_EMIT(b, 0x66, 0x83, 0x38, 0x00);        /* cmpw $0, (%rax) */
		*to_traced = jit_jne(b);
	}
	if (checks & JIT_CHECK_SITE) {
		jit_movabs_rax(b, pi->site);
		JIT_EMIT(b, 0x80, 0x38, pi->site_idle_byte); /* cmpb $idle, (%rax) */
		*to_call = jit_jne(b);
	}
}

/*
 * void fn(int64_t a, int32_t b): fire a C-convention probe with the
 * caller's own arguments (already in %rdi, %rsi: a tail jump to the site).
 */
static inline void jit_emit_c_probe(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks)
{
	if (pi->site == NULL) {
		JIT_EMIT(b, 0xc3);                          /* not live: ret */
		return;
	}
	size_t t, c;
	jit_check(b, pi, checks, &t, &c);
	JIT_EMIT(b, 0xc3);                              /* untraced: ret */
	if (t)
		jit_patch(b, t, b->n);
	jit_movabs_rax(b, pi->site);
	if (c)
		jit_patch(b, c, b->n);
	JIT_EMIT(b, 0xff, 0xe0);                        /* jmp *%rax */
}

/*
 * void fn(void *frame, int64_t acc): a VM's probe whose arguments are where
 * the VM keeps them: the accumulator in %rbx, the frame in %r12 (both
 * callee-saved, as an interpreter's would be), the site called with
 * nothing marshalled.
 */
static inline void jit_emit_located_probe(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks)
{
	JIT_EMIT(b, 0x53);                              /* push %rbx */
	JIT_EMIT(b, 0x41, 0x54);                        /* push %r12 */
	JIT_EMIT(b, 0x48, 0x89, 0xf3);                  /* mov %rsi, %rbx */
	JIT_EMIT(b, 0x49, 0x89, 0xfc);                  /* mov %rdi, %r12 */
	size_t t = 0, c = 0, done_at = 0;
	int live = pi->site != NULL;
	if (live)
		jit_check(b, pi, checks, &t, &c);
	size_t done = b->n;
	JIT_EMIT(b, 0x41, 0x5c);                        /* pop %r12 */
	JIT_EMIT(b, 0x5b);                              /* pop %rbx */
	JIT_EMIT(b, 0xc3);                              /* ret */
	if (!live)
		return;
	if (t)
		jit_patch(b, t, b->n);
	jit_movabs_rax(b, pi->site);
	if (c)
		jit_patch(b, c, b->n);
	JIT_EMIT(b, 0xff, 0xd0);                        /* call *%rax */
	JIT_EMIT(b, 0xeb, 0x00);                        /* jmp done */
	done_at = b->n - 1;
	b->p[done_at] = (uint8_t)(int8_t)((long)done - (long)(done_at + 1));
}

/*
 * void fn(uint64_t n): n iterations of the inline check of a C-convention
 * probe fired with (i, 7) when traced: the loop a benchmark compares with
 * the same loop around a compiled-in sys/sdt.h probe. Laid out as a
 * compiler would: the two addresses are loop invariants kept in %r13 and
 * %r14, each test is a load and a compare-and-branch that the CPU fuses,
 * the loop is rotated (one taken branch per iteration), the traced call
 * is out of line.
 */
static inline void jit_emit_loop(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks)
{
	JIT_EMIT(b, 0x53, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56);   /* push %rbx, %r12, %r13, %r14 */
	JIT_EMIT(b, 0x48, 0x83, 0xec, 0x08);            /* sub $8, %rsp (align) */
	JIT_EMIT(b, 0x48, 0x89, 0xfb);                  /* mov %rdi, %rbx: n */
	JIT_EMIT(b, 0x4d, 0x31, 0xe4);                  /* xor %r12, %r12: i */
	uint64_t sem = (uint64_t)(uintptr_t)pi->semaphore, site = (uint64_t)(uintptr_t)pi->site;
	JIT_EMIT(b, 0x49, 0xbd);                        /* movabs $semaphore, %r13 */
	jit_bytes(b, &sem, 8);
	JIT_EMIT(b, 0x49, 0xbe);                        /* movabs $site, %r14 */
	jit_bytes(b, &site, 8);
	JIT_EMIT(b, 0x48, 0x85, 0xdb);                  /* test %rbx, %rbx */
	JIT_EMIT(b, 0x74, 0x00);                        /* je out */
	size_t out = b->n - 1;
	size_t top = b->n, t1 = 0, t2 = 0;
	if (checks & JIT_CHECK_SEM) {
		JIT_EMIT(b, 0x41, 0x0f, 0xb7, 0x45, 0x00);  /* movzwl 0(%r13), %eax */
		JIT_EMIT(b, 0x85, 0xc0);                    /* test %eax, %eax */
		t1 = jit_jne(b);
	}
	if (checks & JIT_CHECK_SITE) {
		JIT_EMIT(b, 0x41, 0x0f, 0xb6, 0x0e);        /* movzbl (%r14), %ecx */
		JIT_EMIT(b, 0x80, 0xf9, pi->site_idle_byte); /* cmp $idle, %cl */
		t2 = jit_jne(b);
	}
	size_t next = b->n;
	JIT_EMIT(b, 0x49, 0xff, 0xc4);                  /* inc %r12 */
	JIT_EMIT(b, 0x4c, 0x39, 0xe3);                  /* cmp %r12, %rbx */
	JIT_EMIT(b, 0x75, 0x00);                        /* jne top */
	b->p[b->n - 1] = (uint8_t)(int8_t)((long)top - (long)b->n);
	jit_patch(b, out, b->n);
	JIT_EMIT(b, 0x48, 0x83, 0xc4, 0x08);            /* add $8, %rsp */
	JIT_EMIT(b, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5b);   /* pop %r14, %r13, %r12, %rbx */
	JIT_EMIT(b, 0xc3);                              /* ret */
	if (checks & JIT_CHECK_SEM)
		jit_patch(b, t1, b->n);
	if (checks & JIT_CHECK_SITE)
		jit_patch(b, t2, b->n);
	JIT_EMIT(b, 0x4c, 0x89, 0xe7);                  /* mov %r12, %rdi */
	JIT_EMIT(b, 0xbe, 0x07, 0x00, 0x00, 0x00);      /* mov $7, %esi */
	JIT_EMIT(b, 0x41, 0xff, 0xd6);                  /* call *%r14 */
	JIT_EMIT(b, 0xeb, 0x00);                        /* jmp next */
	b->p[b->n - 1] = (uint8_t)(int8_t)((long)next - (long)b->n);
}

#endif
