/*
 * jit_aarch64.h — the aarch64 half of the test JIT (tests/progs/jit.h):
 *
 *     movz/movk x16, #site          ; the address as four 16-bit pieces
 *     ldrb w17, [x16] ; cmp w17, #IDLE ; b.ne call   (and/or: ldrh of the
 *     ...untraced path...                             semaphore, cbnz)
 *   call: br/blr x16
 *
 * x16/x17 are the intra-procedure-call scratch registers (AAPCS64): free
 * in generated code. A site is `nop; ret`, so a tail branch (br, x30 kept)
 * returns straight to our caller. The located probe keeps the VM's
 * accumulator in x19 and its frame in x20 (callee-saved, as an
 * interpreter's registers would be). jit_seal() (jit.h) cleans the data
 * cache and invalidates the instruction cache over the new code: aarch64
 * instruction fetch does not see stores until then.
 */
#ifndef TEST_JIT_AARCH64_H
#define TEST_JIT_AARCH64_H

#define JIT_ACC_REG "x19"
#define JIT_FRAME_REG "x20"

#define A64_X16 16
#define A64_X17 17

static inline void jit_insn(struct jit_buf *b, uint32_t insn)
{
	jit_bytes(b, &insn, 4);
}

/* x16 = imm (movz + 3 movk). */
static inline void jit_mov_x16(struct jit_buf *b, const volatile void *imm)
{
	uint64_t v = (uint64_t)(uintptr_t)imm;
	jit_insn(b, 0xd2800000u | (uint32_t)(v & 0xffff) << 5 | A64_X16);            /* movz x16, #v0 */
	for (uint32_t hw = 1; hw < 4; hw++)                                            /* movk x16, #vN, lsl 16N */
		jit_insn(b, 0xf2800000u | hw << 21 | (uint32_t)((v >> (16 * hw)) & 0xffff) << 5 | A64_X16);
}

/* A forward conditional branch to patch later (b.ne or cbnz): its offset. */
static inline size_t jit_fwd(struct jit_buf *b, uint32_t insn)
{
	jit_insn(b, insn);
	return b->n - 4;
}

static inline void jit_patch(struct jit_buf *b, size_t at, size_t target)
{
	uint32_t insn;
	memcpy(&insn, b->p + at, 4);
	int32_t rel = (int32_t)((long)target - (long)at) / 4;
	if ((insn & 0xff000000u) == 0x14000000u)          /* b: imm26 */
		insn = (insn & 0xfc000000u) | ((uint32_t)rel & 0x3ffffff);
	else                                              /* b.cond, cbnz: imm19 */
		insn = (insn & 0xff00001fu) | ((uint32_t)rel & 0x7ffff) << 5;
	memcpy(b->p + at, &insn, 4);
}

#define A64_BNE 0x54000001u                 /* b.ne (imm19 patched) */
#define A64_CBNZ_W17 (0x35000000u | A64_X17) /* cbnz w17 (imm19 patched) */
#define A64_B 0x14000000u                   /* b (imm26 patched) */
#define A64_RET 0xd65f03c0u

/* The inline check; returns the branch offsets to patch to the traced path
 * (0 when that test is not made). x16 = site on the way to either branch
 * only for the site test: the traced path reloads it. */
static inline void jit_check(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks, size_t *to_sem,
                             size_t *to_site)
{
	*to_sem = *to_site = 0;
	if (checks & JIT_CHECK_SEM) {
		jit_mov_x16(b, pi->semaphore);
		jit_insn(b, 0x79400000u | A64_X16 << 5 | A64_X17);     /* ldrh w17, [x16] */
		*to_sem = jit_fwd(b, A64_CBNZ_W17);
	}
	if (checks & JIT_CHECK_SITE) {
		jit_mov_x16(b, pi->site);
		jit_insn(b, 0x39400000u | A64_X16 << 5 | A64_X17);     /* ldrb w17, [x16] */
		jit_insn(b, 0x7100001fu | (uint32_t)pi->site_idle_byte << 10 | A64_X17 << 5); /* cmp w17, #idle */
		*to_site = jit_fwd(b, A64_BNE);
	}
}

static inline void jit_emit_c_probe(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks)
{
	if (pi->site == NULL) {
		jit_insn(b, A64_RET);
		return;
	}
	size_t s1, s2;
	jit_check(b, pi, checks, &s1, &s2);
	jit_insn(b, A64_RET);                            /* untraced */
	if (s1)
		jit_patch(b, s1, b->n);
	if (s2)
		jit_patch(b, s2, b->n);
	jit_mov_x16(b, pi->site);
	jit_insn(b, 0xd61f0000u | A64_X16 << 5);         /* br x16: args in x0, x1 */
}

static inline void jit_emit_located_probe(struct jit_buf *b, const usdt_vm_probe_t *pi, int checks)
{
	jit_insn(b, 0xa9be7bfdu);                        /* stp x29, x30, [sp, #-32]! */
	jit_insn(b, 0x910003fdu);                        /* mov x29, sp */
	jit_insn(b, 0xa90153f3u);                        /* stp x19, x20, [sp, #16] */
	jit_insn(b, 0xaa0103f3u);                        /* mov x19, x1: accumulator */
	jit_insn(b, 0xaa0003f4u);                        /* mov x20, x0: frame */
	size_t s1 = 0, s2 = 0;
	int live = pi->site != NULL;
	if (live)
		jit_check(b, pi, checks, &s1, &s2);
	size_t done = b->n;
	jit_insn(b, 0xa94153f3u);                        /* ldp x19, x20, [sp, #16] */
	jit_insn(b, 0xa8c27bfdu);                        /* ldp x29, x30, [sp], #32 */
	jit_insn(b, A64_RET);
	if (!live)
		return;
	if (s1)
		jit_patch(b, s1, b->n);
	if (s2)
		jit_patch(b, s2, b->n);
	jit_mov_x16(b, pi->site);
	jit_insn(b, 0xd63f0000u | A64_X16 << 5);         /* blr x16 */
	size_t back = jit_fwd(b, A64_B);                 /* b done */
	jit_patch(b, back, done);
}

#endif
